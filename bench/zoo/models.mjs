// The zoo benchmark's models (scripts/make_zoo_models.py and
// scripts/make_control_flow_models.py, in build/zoo) and
// the inputs each is timed on: batch 1 at sizes web apps use.
import { mulberry32 } from '../../web/random.js';

const floats = (shape, seed) => {
  const next = mulberry32(seed);
  return { dtype: 'float32', shape, values: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 2 * next() - 1) };
};
const ids = (shape, seed) => {
  const next = mulberry32(seed);
  return { dtype: 'int64', shape, values: BigInt64Array.from({ length: shape[0] * shape[1] }, () => BigInt(Math.floor(next() * 1000))) };
};
const past = (len) => Object.fromEntries([0, 1].flatMap((l) => ['key', 'value'].map((k, j) => [`past_${k}_${l}`, floats([1, 4, len, 32], 2 * l + j)])));

export const ZOO_MODELS = {
  bert: { what: 'BERT-like encoder, 2 layers, sequence 64', feeds: () => ({ input_ids: ids([1, 64], 1), attention_mask: { dtype: 'int64', shape: [1, 64], values: new BigInt64Array(64).fill(1n) } }) },
  gpt2: { what: 'GPT-2-like decoder, one token after 32 cached', feeds: () => ({ input_ids: ids([1, 1], 2), ...past(32) }) },
  'gpt2-prompt': { file: 'gpt2', what: 'GPT-2-like decoder, a 32-token prompt', feeds: () => ({ input_ids: ids([1, 32], 3), ...past(0) }) },
  detector: { what: 'detector (Conv+BN+LeakyRelu, Max, Upsample), 3x256x320', feeds: () => ({ image: floats([1, 3, 256, 320], 4) }) },
  vad: { what: 'VAD (If on the sample rate, Loop of a GRU cell), 512 samples at 16 kHz', feeds: () => ({ audio: floats([1, 512], 6), state: floats([1, 32], 7), sr: { dtype: 'int64', shape: [], values: BigInt64Array.of(16000n) } }) },
  greedy: { what: 'greedy decoding (while Loop, sequence of tokens), up to 20 steps', feeds: () => ({ h: floats([1, 16], 8), max_len: { dtype: 'int64', shape: [], values: BigInt64Array.of(20n) } }) },
  'cnn-float': { file: 'cnn_float', what: 'small CNN, float32, 3x32x32', feeds: () => ({ image: floats([1, 3, 32, 32], 9) }) },
  'cnn-qdq': { file: 'qdq_cnn', what: 'the same CNN quantized (QDQ, int8), 3x32x32', feeds: () => ({ image: floats([1, 3, 32, 32], 9) }) },
  'mlp-dynquant': { file: 'dynquant_mlp', what: 'MLP 256-512-512-10, dynamic int8 quantization', feeds: () => ({ x: floats([1, 256], 10) }) },
  speech: { what: 'speech embedding (Conv1d, bidirectional GRU), 300 frames', feeds: () => ({ features: floats([1, 40, 300], 5) }) },
};
