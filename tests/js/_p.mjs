import * as kiln from 'kiln';
await kiln.ready({ threads: 1, quiet: true });
const b = kiln.tensor(Float32Array.from({ length: 4096 }, (_, i) => Math.cos(i)), [64, 64]);
const s8 = kiln.tensor(Float32Array.from({ length: 8 }, (_, i) => Math.cos(i)), [8]);
for (const [name, f] of [['neg+dispose', () => kiln.neg(b).dispose()], ['neg+read+dispose', () => { const t = kiln.neg(b); t.dataSync(); t.dispose(); }],
  ['neg8+dispose', () => kiln.neg(s8).dispose()], ['reshape+dispose', () => kiln.reshape(b, [4096]).dispose()], ['tensor i64 + dispose', () => kiln.tensor(BigInt64Array.from([1n]), [1], 'int64').dispose()],
  ['sum+dispose', () => kiln.sum(b, -1).dispose()], ['softmax+dispose', () => kiln.softmax(b).dispose()], ['exp+dispose', () => kiln.exp(b).dispose()]]) {
  for (let i = 0; i < 500; i++) f();
  const t0 = performance.now(); for (let i = 0; i < 5000; i++) f();
  console.log(name, ((performance.now() - t0) * 1000 / 5000).toFixed(2), 'us');
}
