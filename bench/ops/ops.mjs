// The ops bench/run_ops.mjs times, for any library with TF.js's ops API (Kiln,
// or TF.js on a backend), in Node or a page: each op's result is read back
// (dataSync) and disposed, as a program's eager step would.
const seq = (n, f) => Float32Array.from({ length: n }, (_, i) => f(i));

export const OPS = {
  'add [8]': { make: (lib) => [lib.tensor(seq(8, (i) => i)), lib.tensor(seq(8, (i) => -i))], run: (lib, [a, b]) => lib.add(a, b), loops: 20000 },
  'matMul 256x256': { make: (lib) => [lib.tensor(seq(65536, Math.sin), [256, 256])], run: (lib, [a]) => lib.matMul(a, a), loops: 40 },
  'softmax 64x64': { make: (lib) => [lib.tensor(seq(4096, Math.cos), [64, 64])], run: (lib, [a]) => lib.softmax(a), loops: 2000 },
  'sum [32,128] axis -1': { make: (lib) => [lib.tensor(seq(4096, (i) => i % 7), [32, 128])], run: (lib, [a]) => lib.sum(a, -1), loops: 2000 },
  'relu [64,64]': { make: (lib) => [lib.tensor(seq(4096, Math.cos), [64, 64])], run: (lib, [a]) => lib.relu(a), loops: 2000 },
  'sigmoid [64,64]': { make: (lib) => [lib.tensor(seq(4096, Math.cos), [64, 64])], run: (lib, [a]) => lib.sigmoid(a), loops: 2000 },
  'mul by 2 [64,64]': { make: (lib) => [lib.tensor(seq(4096, Math.cos), [64, 64])], run: (lib, [a]) => lib.mul(a, 2), loops: 2000 },
  'transpose [64,64]': { make: (lib) => [lib.tensor(seq(4096, Math.cos), [64, 64])], run: (lib, [a]) => lib.transpose(a), loops: 2000 },
  'maxPool 2x2 [1,32,32,16]': { make: (lib) => [lib.tensor(seq(32 * 32 * 16, Math.sin), [1, 32, 32, 16])], run: (lib, [x]) => lib.maxPool(x, 2, 2, 'valid'), loops: 1000 },
  'conv2d [1,32,32,8] 3x3x8x16 same': {
    make: (lib) => [lib.tensor(seq(32 * 32 * 8, Math.sin), [1, 32, 32, 8]), lib.tensor(seq(3 * 3 * 8 * 16, (i) => Math.cos(i) / 10), [3, 3, 8, 16])],
    run: (lib, [x, f]) => lib.conv2d(x, f, 1, 'same'), loops: 300,
  },
};

/**
 * Microseconds per call of each op: the mean of a timed loop after a warm-up
 * of at least `loops` calls and 300 ms (both engines' JavaScript takes some
 * thousands of small calls to reach its optimized code; a shorter warm-up
 * timed that tiering, not the ops).
 */
export function timeOps(lib) {
  const out = {};
  for (const [name, op] of Object.entries(OPS)) {
    const inputs = op.make(lib);
    const step = () => { const y = op.run(lib, inputs); y.dataSync(); y.dispose(); };
    const warm = performance.now();
    for (let i = 0; i < op.loops || performance.now() - warm < 300; i++) step();
    const t0 = performance.now();
    for (let i = 0; i < op.loops; i++) step();
    out[name] = ((performance.now() - t0) * 1000) / op.loops;
    for (const t of inputs) t.dispose();
  }
  return out;
}
