// The files tests/js/hostile_checks.mjs needs, read from tests/fixtures.
import { readFileSync } from 'node:fs';

export function hostileFixtures() {
  const fixture = (path) => new Uint8Array(readFileSync(new URL(`../fixtures/${path}`, import.meta.url)));
  const files = { cnn: fixture('onnx_models/cnn.onnx'), mlp: fixture('onnx_models/mlp.onnx') };
  for (const name of ['fill_4gib', 'fill_almost_4gib', 'argmax_scalar', 'cumsum_scalar', 'split_scalar', 'reshape_overflow',
    'topk_one_output', 'gemm_one_input', 'reduce_copy_too_big']) files[name] = fixture(`hostile/${name}.onnx`);
  return files;
}
