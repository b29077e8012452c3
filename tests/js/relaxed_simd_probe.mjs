// Child process for relaxed_simd.test.mjs, run with --experimental-wasm-relaxed-simd
// (Node 20 has relaxed SIMD only behind that flag): loads the relaxed-SIMD
// build of one variant and checks every GEMM kernel against the scalar
// reference and MobileNetV2 against PyTorch. Prints one JSON line.
import { readFile } from 'node:fs/promises';
import * as kiln from 'kiln';
import { randomFloats, relError } from './helpers.mjs';

const variant = process.argv[2];
const info = await kiln.ready({ variant, threads: variant === 'threaded' ? 2 : undefined, relaxedSimd: true, quiet: true });
const kernels = kiln.internals.gemmKernels();
let gemmWorst = 0, seed = 1;
for (const kernel of kernels) {
  for (const [m, n, k] of [[1, 1, 1], [3, 17, 5], [17, 3, 255], [255, 17, 3], [64, 128, 784], [5, 1000, 255]]) {
    for (let v = 0; v < 8; v++) {
      const g = {
        m, n, k, transA: !!(v & 1), transB: !!(v & 2), accumulate: !!(v & 4),
        a: randomFloats(m * k, seed++), b: randomFloats(k * n, seed++), c: randomFloats(m * n, seed++),
        bias: v % 3 === 0 ? randomFloats(n, seed++) : undefined, activation: ['linear', 'relu', 'sigmoid', 'tanh'][v % 4],
      };
      const want = kiln.internals.gemm('reference', g), got = kiln.internals.gemm(kernel, g);
      for (let i = 0; i < want.length; i++)
        gemmWorst = Math.max(gemmWorst, Math.abs(got[i] - want[i]) / (1e-5 * k + 1e-5 * Math.abs(want[i])));
    }
  }
}
const dir = new URL('../../build/torchvision/', import.meta.url);
const session = await kiln.onnx.load(new Uint8Array(await readFile(new URL('mobilenet_v2.onnx', dir))));
const input = new Float32Array((await readFile(new URL('mobilenet_v2.in.f32', dir))).buffer.slice(0));
const want = new Float32Array((await readFile(new URL('mobilenet_v2.out.f32', dir))).buffer.slice(0));
const out = (await session.run({ input: kiln.tensor(input, [1, 3, 224, 224]) })).output;
console.log(JSON.stringify({ info, kernels, gemmWorst, mobilenetRelError: relError(out.dataSync(), want) }));
