// A small reader for ONNX TensorProto files (the .pb inputs and outputs of
// ONNX's conformance cases), independent of the C++ parser it helps to test.
// Protobuf wire format: each field is a varint key (number << 3 | wire type)
// then a varint (type 0), 8 bytes (1), a length-prefixed block (2) or 4 bytes
// (5). Repeated numeric fields come packed (one block) or one per key.
// Whichever field holds the elements, they come back as little-endian bytes.

// TensorProto.DataType -> bytes per element (strings and complex types: not read).
const ELEMENT_SIZE = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 };

class Reader {
  constructor(bytes) { this.bytes = bytes; this.at = 0; }
  get done() { return this.at >= this.bytes.length; }
  varint() {
    let v = 0n, shift = 0n;
    for (;;) {
      if (this.at >= this.bytes.length) throw new Error('TensorProto: truncated varint');
      const b = this.bytes[this.at++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
      shift += 7n;
    }
  }
  take(n) {
    if (this.at + n > this.bytes.length) throw new Error('TensorProto: truncated field');
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  block() { return this.take(Number(this.varint())); }
}

// The elements of a repeated field: `wire` 2 is packed, else one element per key.
function elements(r, wire, fixed) {
  if (wire !== 2) return [wire === 0 ? r.varint() : r.take(fixed)];
  const block = new Reader(r.block()), out = [];
  while (!block.done) out.push(fixed ? block.take(fixed) : block.varint());
  return out;
}

/** Decodes a TensorProto: {name, dataType, dims, bytes} with `bytes` the elements, little-endian. */
export function decodeTensorProto(bytes) {
  const r = new Reader(bytes);
  const t = { name: '', dataType: 0, dims: [], raw: null };
  const varints = [], fixed4 = [], fixed8 = [];
  while (!r.done) {
    const key = Number(r.varint()), field = key >> 3, wire = key & 7;
    if (field === 1) t.dims.push(...elements(r, wire, 0).map(Number));
    else if (field === 2) t.dataType = Number(r.varint());
    else if (field === 4) fixed4.push(...elements(r, wire, 4));
    else if (field === 5 || field === 7 || field === 11) varints.push(...elements(r, wire, 0));
    else if (field === 8) t.name = new TextDecoder().decode(r.block());
    else if (field === 9) t.raw = new Uint8Array(r.block());  // a copy: its own, aligned buffer
    else if (field === 10) fixed8.push(...elements(r, wire, 8));
    else if (wire === 0) r.varint();
    else if (wire === 1) r.take(8);
    else if (wire === 2) r.block();
    else if (wire === 5) r.take(4);
    else throw new Error(`TensorProto: unknown wire type ${wire}`);
  }
  const size = ELEMENT_SIZE[t.dataType];
  if (!size) throw new Error(`TensorProto '${t.name}': data type ${t.dataType} is not read here`);
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (!t.raw) {
    t.raw = new Uint8Array(count * size);
    const view = new DataView(t.raw.buffer);
    // float_data and double_data hold the bytes as they are; int32_data,
    // int64_data and uint64_data hold integers (float16 as its bits) to narrow.
    if (fixed4.length || fixed8.length) [...fixed4, ...fixed8].forEach((b, i) => t.raw.set(b, i * size));
    else varints.forEach((v, i) => {
      const bits = BigInt.asUintN(size * 8, v);
      if (size === 8) view.setBigUint64(i * 8, bits, true);
      else for (let k = 0; k < size; k++) view.setUint8(i * size + k, Number((bits >> BigInt(8 * k)) & 0xffn));
    });
  }
  if (t.raw.length !== count * size)
    throw new Error(`TensorProto '${t.name}': ${t.raw.length} bytes for shape [${t.dims}] of ${size}-byte elements`);
  return { name: t.name, dataType: t.dataType, dims: t.dims, bytes: t.raw };
}

/**
 * Decodes a SequenceProto (`optional` false) or an OptionalProto (true): the
 * tensors it holds (field 3), nested sequences (5) and optionals (7) decoded
 * the same way. A sequence gives {kind: 'sequence', items}, an optional
 * {kind: 'optional', value} (value null when empty), a tensor what
 * decodeTensorProto gives.
 */
export function decodeContainerProto(bytes, optional) {
  const r = new Reader(bytes);
  const items = [];
  while (!r.done) {
    const key = Number(r.varint()), field = key >> 3, wire = key & 7;
    if (field === 3) items.push(decodeTensorProto(r.block()));
    else if (field === 5) items.push(decodeContainerProto(r.block(), false));
    else if (field === 7) items.push(decodeContainerProto(r.block(), true));
    else if (field === 4 || field === 6) throw new Error('sparse tensors and maps are not read here');
    else if (wire === 0) r.varint();
    else if (wire === 2) r.block();
    else throw new Error(`SequenceProto: unexpected wire type ${wire}`);
  }
  return optional ? { kind: 'optional', value: items[0] ?? null } : { kind: 'sequence', items };
}
