// ONNX's node conformance cases through the public JS API: every case that
// passes natively (tests/onnx_conformance_passing.txt, kept by
// tests/cpp/onnx_conformance_test.cc) runs through kiln.onnx.load and
// session.run with its real input and output dtypes, and must pass here too.
// Inputs and expected outputs are read by an independent TensorProto reader
// (onnx_tensor_proto.mjs); sequences go in and come out as arrays of tensors,
// empty optionals as null. Comparison as the native test (and ONNX's backend
// tests): floats within rtol 1e-3, atol 1e-7 (NaN equals NaN), every other
// type exactly; dtypes and shapes exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as kiln from 'kiln';
import { ready } from './helpers.mjs';
import { decodeContainerProto, decodeTensorProto } from './onnx_tensor_proto.mjs';

await ready();
const nodeDir = '/usr/share/libonnx-testdata/data/node';
const listFile = new URL('../onnx_conformance_passing.txt', import.meta.url);
const cases = readFileSync(listFile, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));

// TensorProto.DataType -> the kiln dtype and its typed array (written out
// here, not taken from the package, so the test checks the package's table).
const DTYPES = {
  1: ['float32', Float32Array], 2: ['uint8', Uint8Array], 3: ['int8', Int8Array], 4: ['uint16', Uint16Array],
  5: ['int16', Int16Array], 6: ['int32', Int32Array], 7: ['int64', BigInt64Array], 9: ['bool', Uint8Array],
  10: ['float16', Uint16Array], 11: ['float64', Float64Array], 12: ['uint32', Uint32Array], 13: ['uint64', BigUint64Array],
};

function asTensor(p, path) {
  const entry = DTYPES[p.dataType];
  if (!entry) throw new Error(`${path}: data type ${p.dataType} has no kiln dtype`);
  const [dtype, ArrayType] = entry;
  const values = new ArrayType(p.bytes.buffer, p.bytes.byteOffset, p.bytes.length / ArrayType.BYTES_PER_ELEMENT);
  return { name: p.name, dtype, shape: p.dims, values };
}

function readTensor(path) { return asTensor(decodeTensorProto(readFileSync(path)), path); }

// A value file by the model's declared kind: a tensor, an array of tensors (a sequence) or null (an empty optional).
function readValue(path, kind) {
  if (kind !== 'sequence' && kind !== 'optional') return readTensor(path);
  const unwrap = (v) => v === null ? null : v.kind === 'sequence' ? v.items.map(unwrap) : v.kind === 'optional' ? unwrap(v.value) : asTensor(v, path);
  return unwrap(decodeContainerProto(readFileSync(path), kind === 'optional'));
}

const toKiln = (v) => v === null ? null : Array.isArray(v) ? v.map(toKiln) : kiln.tensor(v.values, v.shape, v.dtype);
const dtypesOf = (v) => v === null ? [] : Array.isArray(v) ? v.flatMap(dtypesOf) : [v.dtype];

// compare() for whole values: arrays element by element, null only against null.
function compareValue(got, want) {
  if (want === null || got === null) return got === want ? '' : `${got === null ? 'null' : 'a value'}, expected ${want === null ? 'null' : 'a value'}`;
  if (Array.isArray(want)) {
    if (!Array.isArray(got)) return 'a tensor, expected a sequence';
    if (got.length !== want.length) return `a sequence of ${got.length}, expected ${want.length}`;
    for (let i = 0; i < want.length; i++) {
      const d = compareValue(got[i], want[i]);
      if (d) return `element ${i}: ${d}`;
    }
    return '';
  }
  if (Array.isArray(got)) return 'a sequence, expected a tensor';
  return compare(got, want);
}

function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
  if (e === 0) return s * m * 2 ** -24;
  return e === 31 ? (m ? NaN : s * Infinity) : s * (1024 + m) * 2 ** (e - 25);
}

// '' when `got` (a kiln.Tensor) matches `want`, else the first difference.
function compare(got, want) {
  if (got.dtype !== want.dtype) return `dtype ${got.dtype}, expected ${want.dtype}`;
  if (got.shape.join(',') !== want.shape.join(',')) return `shape [${got.shape}], expected [${want.shape}]`;
  const g = got.dataSync(), w = want.values;
  if (g.length !== w.length) return `${g.length} values, expected ${w.length}`;
  const fp = want.dtype === 'float32' || want.dtype === 'float64';
  for (let i = 0; i < w.length; i++) {
    const a = want.dtype === 'float16' ? halfToFloat(g[i]) : g[i], b = want.dtype === 'float16' ? halfToFloat(w[i]) : w[i];
    if (fp ? (Number.isNaN(a) && Number.isNaN(b)) || a === b || Math.abs(a - b) <= 1e-7 + 1e-3 * Math.abs(b) : a === b) continue;
    return `element ${i} is ${a}, expected ${b}`;
  }
  return '';
}

const inputDtypes = new Set();

async function runCase(name) {
  const dir = `${nodeDir}/${name}`;
  const session = await kiln.onnx.load(new Uint8Array(readFileSync(`${dir}/model.onnx`)));
  try {
    const sets = readdirSync(dir).filter((f) => f.startsWith('test_data_set_')).sort();
    if (!sets.length) return 'no test data';
    for (const set of sets) {
      const feeds = {};
      for (let i = 0; existsSync(`${dir}/${set}/input_${i}.pb`); i++) {
        const v = readValue(`${dir}/${set}/input_${i}.pb`, session.inputs[i]?.kind);
        // By name when the file names a model input, else by position (as the native test).
        const input = v !== null && !Array.isArray(v) && session.inputNames.includes(v.name) ? v.name : session.inputNames[i];
        const declared = session.inputs.find((x) => x.name === input).dtype;
        for (const dtype of dtypesOf(v)) {
          if (declared !== null && session.inputs[i].kind === 'tensor' && declared !== dtype) return `input ${input} is declared ${declared}, the data is ${dtype}`;
          inputDtypes.add(dtype);
        }
        feeds[input] = toKiln(v);
      }
      const outs = await session.run(feeds);
      for (const [i, output] of session.outputNames.entries()) {
        const path = `${dir}/${set}/output_${i}.pb`;
        if (!existsSync(path)) continue;
        const diff = compareValue(outs[output], readValue(path, session.outputs[i].kind));
        if (diff) return `${set} output ${output}: ${diff}`;
      }
    }
    return '';
  } finally {
    session.dispose();
  }
}

test('every ONNX node conformance case that passes natively passes through kiln.onnx with its real dtypes', async (t) => {
  assert.ok(existsSync(nodeDir), `${nodeDir} is missing: apt-get install libonnx-testdata (scripts/setup.sh does)`);
  const failures = [];
  for (const name of cases) {
    let why;
    try {
      why = await runCase(name);
    } catch (e) {
      why = e.message;
    }
    if (why) failures.push(`${name}: ${why}`);
  }
  t.diagnostic(`${cases.length - failures.length} of ${cases.length} natively passing cases pass through kiln.onnx`);
  assert.deepEqual(failures, []);
  // The cases feed every dtype kiln.Tensor has.
  assert.deepEqual([...inputDtypes].sort(), Object.values(DTYPES).map(([d]) => d).sort());
});

test('an output kiln.Tensor cannot hold (bfloat16) is an error naming it', async () => {
  const session = await kiln.onnx.load(new Uint8Array(readFileSync(`${nodeDir}/test_cast_FLOAT_to_BFLOAT16/model.onnx`)));
  assert.deepEqual(session.outputs, [{ name: 'output', kind: 'tensor', dtype: 'bfloat16', shape: [3, 4] }]);
  await assert.rejects(session.run({ input: kiln.tensor(new Float32Array(12), [3, 4]) }), /output 'output' is bfloat16, which kiln.Tensor cannot hold/);
  session.dispose();
});
