// Every wasm GEMM micro-kernel, through the packed driver, against the scalar
// reference compiled into the same module, on odd shapes with transposes,
// accumulation, bias and activations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as kiln from 'kiln';
import { ready, randomFloats } from './helpers.mjs';

test('wasm SIMD128 GEMM kernels match the scalar reference on odd shapes', async () => {
  await ready();
  const kernels = kiln.internals.gemmKernels();
  assert.ok(kernels.includes('wasm_simd128_4x8') && kernels.includes('wasm_simd128_2x16'), kernels.join());
  let seed = 1, checked = 0;
  for (const kernel of kernels) {
    for (const [m, n, k] of [[1, 1, 1], [3, 17, 5], [17, 3, 255], [255, 17, 3], [1000, 10, 17], [64, 128, 784], [5, 1000, 255]]) {
      for (let variant = 0; variant < 8; variant++) {
        const g = {
          m, n, k, transA: !!(variant & 1), transB: !!(variant & 2), accumulate: !!(variant & 4),
          a: randomFloats(m * k, seed++), b: randomFloats(k * n, seed++), c: randomFloats(m * n, seed++),
          bias: variant % 3 === 0 ? randomFloats(n, seed++) : undefined,
          activation: ['linear', 'relu', 'sigmoid', 'tanh'][variant % 4],
        };
        const want = kiln.internals.gemm('reference', g), got = kiln.internals.gemm(kernel, g);
        for (let i = 0; i < want.length; i++) {
          const tol = 1e-5 * k + 1e-5 * Math.abs(want[i]);
          if (!(Math.abs(got[i] - want[i]) <= tol))
            assert.fail(`${kernel} m=${m} n=${n} k=${k} variant ${variant}: C[${i}] = ${got[i]}, reference ${want[i]}`);
        }
        checked++;
      }
    }
  }
  assert.equal(checked, kernels.length * 7 * 8);
  assert.throws(() => kiln.internals.gemm('nope', { m: 1, n: 1, k: 1, a: new Float32Array(1), b: new Float32Array(1) }), /no kernel named nope/);
});
