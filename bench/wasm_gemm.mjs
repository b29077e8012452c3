// GFLOP/s of each wasm GEMM micro-kernel on the MLP benchmark's shapes, side
// by side in one process (median of 7 runs). Includes the copy of A and B
// into the wasm heap, the same for every kernel.
//   node bench/wasm_gemm.mjs [single|threaded]
import * as kiln from 'kiln';

const variant = process.argv[2] ?? 'single';
const info = await kiln.ready({ variant, threads: variant === 'threaded' ? 2 : undefined, quiet: true });
const shapes = [[64, 128, 784], [64, 256, 256], [784, 128, 64], [64, 784, 128], [256, 256, 256]];
const rand = (n) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) % 1);
console.log(`${info.variant}, ${info.threads} thread(s)`);
console.log('shape (m x n x k)  ' + kiln.internals.gemmKernels().map((k) => k.padStart(18)).join(''));
for (const [m, n, k] of shapes) {
  const g = { m, n, k, a: rand(m * k), b: rand(k * n) };
  const cells = kiln.internals.gemmKernels().map((kernel) => {
    for (let i = 0; i < 3; i++) kiln.internals.gemm(kernel, g);
    const runs = [];
    for (let r = 0; r < 7; r++) {
      const t0 = performance.now();
      let iters = 0;
      while (performance.now() - t0 < 60) { kiln.internals.gemm(kernel, g); iters++; }
      runs.push((2 * m * n * k * iters) / ((performance.now() - t0) * 1e6));
    }
    runs.sort((x, y) => x - y);
    return runs[3].toFixed(1).padStart(13) + ' GF/s';
  });
  console.log(`${m}x${n}x${k}`.padEnd(19) + cells.join(''));
}
