// A character-level language model: an LSTM reads `window` characters and
// predicts the next one; sampling feeds its own choices back. Text in,
// samples out; used by the LSTM demo page (web/lstm.html) and its tests.
// Works in Node and browsers; every engine call is awaited, so `kiln` may be
// the module or kiln/worker's engine.

/** Vocabulary and index sequence of a text (runs of whitespace become one space). */
export function prepareText(raw) {
  const text = raw.replace(/\s+/g, ' ').trim();
  const chars = [...new Set(text)].sort();
  const index = new Map(chars.map((c, i) => [c, i]));
  return { text, chars, index, ids: Uint8Array.from(text, (c) => index.get(c)) };
}

/**
 * Training windows over ids[from, to): x [count, window] of character ids (as
 * floats, for the embedding), y [count] the id that follows each window.
 */
export function makeWindows(ids, window, stride, from = 0, to = ids.length) {
  const count = Math.max(0, Math.floor((to - from - window - 1) / stride) + 1);
  const x = new Float32Array(count * window), y = new Float32Array(count);
  for (let n = 0; n < count; n++) {
    const start = from + n * stride;
    for (let t = 0; t < window; t++) x[n * window + t] = ids[start + t];
    y[n] = ids[start + window];
  }
  return { x, y, count };
}

export async function buildCharModel(kiln, { vocab, window, units = 128, embed = 24, seed = 1, learningRate = 0.01 }) {
  const model = await kiln.sequential({ seed, layers: [
    await kiln.layers.embedding({ inputDim: vocab, outputDim: embed, inputLength: window }),
    await kiln.layers.lstm({ units, recurrentActivation: 'sigmoid', unitForgetBias: true }),
    await kiln.layers.dense({ units: vocab, activation: 'softmax' }),
  ] });
  await model.compile({ optimizer: await kiln.train.adam(learningRate), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

/** Draws an index from probabilities sharpened (t < 1) or flattened (t > 1) by temperature t. */
export function sampleIndex(probs, temperature, random = Math.random) {
  const logits = Array.from(probs, (p) => Math.log(Math.max(p, 1e-12)) / temperature);
  const top = Math.max(...logits);
  const weights = logits.map((l) => Math.exp(l - top));
  let r = random() * weights.reduce((a, b) => a + b, 0);
  for (let i = 0; i < weights.length; i++) if ((r -= weights[i]) <= 0) return i;
  return weights.length - 1;
}

/** Continues `seedText` (at least `window` characters of the vocabulary) by `length` sampled characters. */
export async function sampleText(kiln, model, prepared, { seedText, window, length = 200, temperature = 0.5, random = Math.random }) {
  const ids = Array.from(seedText.slice(-window), (c) => prepared.index.get(c) ?? 0);
  let out = '';
  const x = new Float32Array(window);
  for (let k = 0; k < length; k++) {
    x.set(ids.slice(-window));
    const input = await kiln.tensor(x, [1, window]);
    const probs = await model.predict(input);
    const next = sampleIndex(await probs.data(), temperature, random);
    await input.dispose();
    await probs.dispose();
    ids.push(next);
    out += prepared.chars[next];
  }
  return out;
}
