// Rewrites the pre-standard relaxed-SIMD opcode that Debian's toolchain
// (clang 14 + binaryen 108, see ENVIRONMENT.md) emits into the standard one
// that browsers ship:  f32x4.fma 0xfd 0xaf 0x01  ->  f32x4.relaxed_madd 0xfd 0x85 0x02.
// Both encodings are two-byte LEBs, so the module keeps its size and layout.
// A byte search could hit a constant or an offset that happens to hold those
// bytes, so the code section is decoded instruction by instruction.
// The kernel passes its operands in the standard order (a, b, c) = a * b + c;
// the GEMM tests run on the rewritten module check the result.
//
//   node scripts/wasm_standard_relaxed_simd.mjs IN.wasm OUT.wasm
import { readFileSync, writeFileSync } from 'node:fs';

const PROTOTYPE_FMA_F32X4 = 0xaf;
const STANDARD_RELAXED_MADD_F32X4 = 0x105;

class Reader {
  constructor(bytes, pos, end) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }
  byte() {
    if (this.pos >= this.end) throw new Error(`wasm: read past the end at byte ${this.pos}`);
    return this.bytes[this.pos++];
  }
  leb() {  // unsigned or signed: only the length matters, except for opcodes
    let result = 0, shift = 0, b;
    do {
      b = this.byte();
      if (shift < 28) result |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    return result >>> 0;
  }
  skip(n) {
    if (this.pos + n > this.end) throw new Error(`wasm: read past the end at byte ${this.pos}`);
    this.pos += n;
  }
  memarg() {
    this.leb();
    this.leb();
  }
}

// SIMD (0xfd) sub-opcode immediates, from the standard SIMD128 encoding.
function skipSimdImmediates(r, op) {
  if (op <= 0x0b || op === 0x5c || op === 0x5d) r.memarg();
  else if (op === 0x0c || op === 0x0d) r.skip(16);
  else if (op >= 0x15 && op <= 0x22) r.skip(1);
  else if (op >= 0x54 && op <= 0x5b) {
    r.memarg();
    r.skip(1);
  }
}

function skipMiscImmediates(r, op) {  // 0xfc prefix
  if (op <= 7) return;
  if (op === 8) { r.leb(); r.skip(1); }
  else if (op === 9 || op === 13 || (op >= 15 && op <= 17)) r.leb();
  else if (op === 10) r.skip(2);
  else if (op === 11) r.skip(1);
  else if (op === 12 || op === 14) { r.leb(); r.leb(); }
  else throw new Error(`wasm: unknown 0xfc sub-opcode ${op} at byte ${r.pos}`);
}

/** Rewrites one function body in place; returns the number of opcodes changed. */
function rewriteBody(bytes, start, end) {
  const r = new Reader(bytes, start, end);
  const localGroups = r.leb();
  for (let i = 0; i < localGroups; ++i) {
    r.leb();
    r.skip(1);
  }
  let changed = 0;
  while (r.pos < end) {
    const op = r.byte();
    if (op === 0x02 || op === 0x03 || op === 0x04 || op === 0x06) r.leb();  // block type
    else if ((op >= 0x07 && op <= 0x09) || op === 0x0c || op === 0x0d || op === 0x10 || op === 0x12 || op === 0x18 ||
             (op >= 0x20 && op <= 0x26) || op === 0xd2) r.leb();
    else if (op === 0x0e) {
      const n = r.leb();
      for (let i = 0; i <= n; ++i) r.leb();
    } else if (op === 0x11 || op === 0x13) { r.leb(); r.leb(); }
    else if (op === 0x1c) r.skip(r.leb());
    else if (op >= 0x28 && op <= 0x3e) r.memarg();
    else if (op === 0x3f || op === 0x40 || op === 0xd0) r.skip(1);
    else if (op === 0x41 || op === 0x42) r.leb();
    else if (op === 0x43) r.skip(4);
    else if (op === 0x44) r.skip(8);
    else if (op === 0xfc) skipMiscImmediates(r, r.leb());
    else if (op === 0xfe) {
      const sub = r.leb();
      if (sub === 0x03) r.skip(1);
      else r.memarg();
    } else if (op === 0xfd) {
      const at = r.pos;
      const sub = r.leb();
      if (sub === PROTOTYPE_FMA_F32X4) {
        if (r.pos - at !== 2) throw new Error(`wasm: unexpected ${r.pos - at}-byte f32x4.fma opcode at byte ${at}`);
        bytes[at] = 0x80 | (STANDARD_RELAXED_MADD_F32X4 & 0x7f);
        bytes[at + 1] = STANDARD_RELAXED_MADD_F32X4 >> 7;
        ++changed;
      } else {
        skipSimdImmediates(r, sub);
      }
    } else if ((op >= 0x00 && op <= 0x01) || op === 0x05 || op === 0x0b || op === 0x0f || op === 0x19 ||
               op === 0x1a || op === 0x1b || (op >= 0x45 && op <= 0xc4) || op === 0xd1) {
      // no immediates
    } else {
      throw new Error(`wasm: unknown opcode 0x${op.toString(16)} at byte ${r.pos - 1}`);
    }
  }
  if (r.pos !== end) throw new Error(`wasm: function body overran its size at byte ${r.pos}`);
  return changed;
}

/** Returns a copy of the module with the prototype opcodes made standard, and how many were changed. */
export function standardizeRelaxedSimd(input) {
  const bytes = Uint8Array.from(input);
  if (bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) throw new Error('wasm: not a WebAssembly module');
  const r = new Reader(bytes, 8, bytes.length);
  let changed = 0;
  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.leb();
    const sectionEnd = r.pos + size;
    if (sectionEnd > bytes.length) throw new Error(`wasm: section ${id} at byte ${r.pos} runs past the end of the module (read past the end)`);
    if (id === 10) {  // code
      const s = new Reader(bytes, r.pos, sectionEnd);
      const count = s.leb();
      for (let i = 0; i < count; ++i) {
        const bodySize = s.leb();
        if (s.pos + bodySize > sectionEnd) throw new Error(`wasm: function body ${i} runs past its section (read past the end)`);
        changed += rewriteBody(bytes, s.pos, s.pos + bodySize);
        s.skip(bodySize);
      }
    }
    r.pos = sectionEnd;
  }
  return { bytes, changed };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [inPath, outPath] = process.argv.slice(2);
  if (!inPath || !outPath) {
    console.error('usage: node scripts/wasm_standard_relaxed_simd.mjs IN.wasm OUT.wasm');
    process.exit(2);
  }
  const { bytes, changed } = standardizeRelaxedSimd(readFileSync(inPath));
  if (changed === 0) {
    console.error(`${inPath}: no f32x4.fma found; was the relaxed kernel linked?`);
    process.exit(1);
  }
  writeFileSync(outPath, bytes);
  console.log(`${outPath}: ${changed} f32x4.fma -> f32x4.relaxed_madd`);
}
