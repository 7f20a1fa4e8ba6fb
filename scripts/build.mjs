// Builds the package: CommonJS with declarations from tsc, plus thin ESM entry points that
// re-export the CommonJS build. One implementation for both module systems means an app
// that loads us from `import` and from `require` still gets one instrumentation, not two
// (the dual-package hazard), and module-relative paths work the same in both.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const require = createRequire(import.meta.url);
rmSync('dist', { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'], { stdio: 'inherit' });

const entries = { 'index': 'index', 'emulator/index': 'emulator/index' };
mkdirSync('dist/esm/emulator', { recursive: true });
writeFileSync('dist/esm/package.json', JSON.stringify({ type: 'module' }) + '\n');
for (const [esm, cjs] of Object.entries(entries)) {
  const names = Object.keys(require(resolve('dist/cjs', cjs + '.js'))).filter((n) => n !== '__esModule' && n !== 'default');
  const depth = esm.split('/').length - 1;
  const target = `${'../'.repeat(depth + 1)}cjs/${cjs}.js`;
  writeFileSync(
    `dist/esm/${esm}.js`,
    `import cjs from '${target}';\nexport const { ${names.join(', ')} } = cjs;\nexport default cjs;\n`,
  );
  writeFileSync(`dist/esm/${esm}.d.ts`, `export * from '${target}';\n`);
}
