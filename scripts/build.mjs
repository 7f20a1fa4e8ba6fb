// Builds the package: CommonJS with declarations from tsc, plus thin ESM entry points that
// re-export the CommonJS build. One implementation for both module systems means an app
// that loads us from `import` and from `require` still gets one instrumentation, not two
// (the dual-package hazard), and module-relative paths work the same in both.
// The build goes to a scratch folder and replaces dist/ at the end, so a process reading
// dist/ meanwhile never sees it half-written.
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const require = createRequire(import.meta.url);
const out = `dist.build-${process.pid}`;
rmSync(out, { recursive: true, force: true });
try {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json', '--outDir', `${out}/cjs`], { stdio: 'inherit' });

  const entries = { index: 'index', 'emulator/index': 'emulator/index' };
  mkdirSync(`${out}/esm/emulator`, { recursive: true });
  writeFileSync(`${out}/esm/package.json`, JSON.stringify({ type: 'module' }) + '\n');
  for (const [esm, cjs] of Object.entries(entries)) {
    const names = Object.keys(require(resolve(out, 'cjs', cjs + '.js'))).filter((n) => n !== '__esModule' && n !== 'default');
    const target = `${'../'.repeat(esm.split('/').length)}cjs/${cjs}.js`;
    writeFileSync(`${out}/esm/${esm}.js`, `import cjs from '${target}';\nexport const { ${names.join(', ')} } = cjs;\nexport default cjs;\n`);
    writeFileSync(`${out}/esm/${esm}.d.ts`, `export * from '${target}';\n`);
  }
  rmSync('dist', { recursive: true, force: true });
  renameSync(out, 'dist');
} finally {
  rmSync(out, { recursive: true, force: true });
}
