/** The name and version the instrumentation reports (its scope on every span) are package.json's. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { PACKAGE_NAME, PACKAGE_VERSION } from '../src/version.js';

it('PACKAGE_NAME and PACKAGE_VERSION match package.json', () => {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { name: string; version: string };
  assert.equal(PACKAGE_NAME, pkg.name);
  assert.equal(PACKAGE_VERSION, pkg.version);
});
