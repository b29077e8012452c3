// A TF.js program in the manner of tfjs-examples' lstm-text-generation
// (written here, not copied): an LSTM learns to predict the next character
// of a text (the GPL's text, which every Debian system has), then writes
// new text one character at a time, sampling each from the predicted
// distribution with a temperature (log, div, multinomial). `tf` is the
// library under test; `startFrom` sets the starting weights.
import { readFileSync } from 'node:fs';

export function corpus(length = 12000) {
  return readFileSync('/usr/share/common-licenses/GPL-3', 'utf8').replace(/\s+/g, ' ').slice(2000, 2000 + length).toLowerCase();
}

export async function run(tf, { text = corpus(), sampleLength = 24, step = 3, units = 96, epochs = 6, batchSize = 128, generate = 120,
  temperature = 0.3, startFrom } = {}) {
  const chars = [...new Set(text)].sort();
  const index = new Map(chars.map((c, i) => [c, i]));
  const starts = [];
  for (let i = 0; i + sampleLength < text.length; i += step) starts.push(i);
  const xs = new Float32Array(starts.length * sampleLength * chars.length), ys = new Float32Array(starts.length * chars.length);
  starts.forEach((s, n) => {
    for (let t = 0; t < sampleLength; t++) xs[(n * sampleLength + t) * chars.length + index.get(text[s + t])] = 1;
    ys[n * chars.length + index.get(text[s + sampleLength])] = 1;
  });
  const model = tf.sequential({ layers: [
    tf.layers.lstm({ units, inputShape: [sampleLength, chars.length] }),
    tf.layers.dense({ units: chars.length, activation: 'softmax' }),
  ] });
  model.compile({ optimizer: tf.train.rmsprop(0.01), loss: 'categoricalCrossentropy' });
  if (startFrom) startFrom(model);
  const history = await model.fit(tf.tensor3d(xs, [starts.length, sampleLength, chars.length]), tf.tensor2d(ys, [starts.length, chars.length]),
    { epochs, batchSize, shuffle: false, verbose: 0 });
  // Writing: the last sampleLength characters in, one sampled character out.
  let window = text.slice(0, sampleLength), written = '';
  for (let i = 0; i < generate; i++) {
    const next = tf.tidy(() => {
      const input = tf.buffer([1, sampleLength, chars.length]);
      for (let t = 0; t < sampleLength; t++) input.set(1, 0, t, index.get(window[t]));
      const probs = model.predict(input.toTensor()).squeeze();
      const logits = tf.div(tf.log(tf.add(probs, 1e-7)), temperature);
      return tf.multinomial(logits, 1, 42 + i).dataSync()[0];
    });
    written += chars[next];
    window = window.slice(1) + chars[next];
  }
  return { history: history.history, written, chars };
}
