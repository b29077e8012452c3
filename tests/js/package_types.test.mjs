// The package's type declarations as a TypeScript application sees them
// (exports map: 'kiln' and 'kiln/worker'): tests/js/package_types_consumer.ts,
// which uses the ops API, the Tensor methods, the layer factories and worker
// mode, type-checks with strict settings and the declarations themselves
// checked (skipLibCheck off). A declaration that TypeScript cannot resolve, or
// one too deep for it, fails here. The layer factories are typed one by one
// (js/src/layer_args.ts): a misspelt factory, argument or choice fails to
// compile, as it does with TF.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

// Runs tsc on `files` ({name: source}) in a fresh app whose node_modules/kiln is this package.
function typeCheck(files) {
  const app = mkdtempSync(join(tmpdir(), 'kiln-types-'));
  mkdirSync(join(app, 'node_modules'));
  symlinkSync(ROOT, join(app, 'node_modules', 'kiln'));
  for (const [name, source] of Object.entries(files)) writeFileSync(join(app, name), source);
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2020', module: 'ES2020', moduleResolution: 'bundler', strict: true, noEmit: true,
      skipLibCheck: false, lib: ['ES2021', 'DOM'] },
    files: Object.keys(files),
  }));
  const r = spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', app, '--pretty', 'false'], { cwd: app, encoding: 'utf8' });
  return { status: r.status, output: r.stdout + r.stderr };
}

test('a strict TypeScript program using kiln and kiln/worker type-checks against the declarations', () => {
  const r = typeCheck({ 'main.ts': readFileSync(join(ROOT, 'tests/js/package_types_consumer.ts'), 'utf8') });
  assert.equal(r.status, 0, r.output);
});

test('a misspelt layer factory, argument or choice fails to compile; correct layer code compiles', () => {
  const header = "import * as kiln from 'kiln';\n";
  const good = [
    "const x = kiln.input({ shape: [10, 3] });",
    "kiln.layers.dense({ units: 3, activation: 'relu', inputShape: [4], kernelInitializer: 'heNormal' });",
    "kiln.layers.conv2d({ filters: 8, kernelSize: [3, 3], strides: 2, padding: 'same', inputShape: [28, 28, 1] });",
    "const lstm = kiln.layers.lstm({ units: 8, returnSequences: true, recurrentActivation: 'sigmoid', unitForgetBias: true });",
    "kiln.layers.bidirectional({ layer: lstm, mergeMode: 'concat' }).apply(x);",
    "kiln.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3 });",
    "kiln.layers.batchNormalization();",
  ];
  const bad = [
    ['kiln.layers.denze({ units: 3 });', /'denze'/],
    ['kiln.layers.dense({ unitz: 3 });', /'unitz'/],
    ["kiln.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'sane' });", /"sane"/],
  ];
  // Both files in one run: every error must be in bad.ts, one or more on each of its three lines.
  const r = typeCheck({ 'good.ts': header + good.join('\n') + '\n', 'bad.ts': header + bad.map(([line]) => line).join('\n') + '\n' });
  assert.notEqual(r.status, 0, `tsc accepted the misspelt layer code:\n${r.output}`);
  const errors = [...r.output.matchAll(/^(?:.*[\\/])?(\w+)\.ts\((\d+),\d+\): error (TS\d+: .*)$/gm)].map((m) => ({ file: m[1], line: Number(m[2]), text: m[3] }));
  assert.ok(errors.length > 0, `no error lines in tsc's output:\n${r.output}`);
  assert.deepEqual(errors.filter((e) => e.file !== 'bad'), [], `errors outside bad.ts (correct code rejected):\n${r.output}`);
  const lines = [...new Set(errors.map((e) => e.line))].sort((a, b) => a - b);
  assert.deepEqual(lines, [2, 3, 4], `errors on the lines of the three mistakes only:\n${r.output}`);
  bad.forEach(([, want], i) => assert.ok(errors.some((e) => e.line === i + 2 && want.test(e.text)),
    `line ${i + 2} (${bad[i][0]}): expected an error matching ${want}:\n${r.output}`));
});
