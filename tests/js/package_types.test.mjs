// The package's type declarations as a TypeScript application sees them
// (exports map: 'kiln' and 'kiln/worker'): tests/js/package_types_consumer.ts,
// which uses the ops API, the Tensor methods and worker mode, type-checks
// with strict settings and the declarations themselves checked
// (skipLibCheck off). A declaration that TypeScript cannot resolve, or one
// too deep for it, fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('a strict TypeScript program using kiln and kiln/worker type-checks against the declarations', () => {
  const app = mkdtempSync(join(tmpdir(), 'kiln-types-'));
  mkdirSync(join(app, 'node_modules'));
  symlinkSync(ROOT, join(app, 'node_modules', 'kiln'));
  copyFileSync(join(ROOT, 'tests/js/package_types_consumer.ts'), join(app, 'main.ts'));
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2020', module: 'ES2020', moduleResolution: 'bundler', strict: true, noEmit: true,
      skipLibCheck: false, lib: ['ES2021', 'DOM'] },
    files: ['main.ts'],
  }));
  const r = spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', app], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
