// A TF.js program in the manner of tfjs-examples' addition-rnn (written
// here, not copied): a sequence-to-sequence LSTM learns to add two numbers
// given as text ("37+5 " -> "42 "). Questions are generated; characters are
// one-hot encoded; an LSTM encoder, repeatVector, an LSTM decoder and a
// timeDistributed dense softmax; fit with validationSplit, then answers are
// decoded with argMax. `tf` is the library under test; `startFrom` (a
// function of the model) sets the starting weights, so two libraries can
// start alike.
const CHARS = '0123456789+ ';

function makeQuestions(count, digits, seed) {
  let s = seed >>> 0;
  const rand = () => {  // xorshift32: exact in 32-bit integers
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
  const number = () => Math.floor(rand() * 10 ** (1 + Math.floor(rand() * digits)));
  const seen = new Set(), questions = [], answers = [];
  const width = 2 * digits + 1;
  while (questions.length < count) {
    const a = number(), b = number();
    const q = `${a}+${b}`;
    if (seen.has(q)) continue;
    seen.add(q);
    questions.push(q.padEnd(width, ' '));
    answers.push(String(a + b).padEnd(digits + 1, ' '));
  }
  return { questions, answers };
}

function encode(tf, strings, length) {
  const values = new Float32Array(strings.length * length * CHARS.length);
  strings.forEach((text, i) => {
    for (let t = 0; t < length; t++) values[(i * length + t) * CHARS.length + CHARS.indexOf(text[t])] = 1;
  });
  return tf.tensor3d(values, [strings.length, length, CHARS.length]);
}

export async function run(tf, { digits = 2, hidden = 64, trainSize = 3000, testSize = 200, epochs = 30, batchSize = 64, startFrom, seed = 7 } = {}) {
  const { questions, answers } = makeQuestions(trainSize + testSize, digits, seed);
  const inLength = 2 * digits + 1, outLength = digits + 1;
  const model = tf.sequential();
  model.add(tf.layers.lstm({ units: hidden, inputShape: [inLength, CHARS.length] }));
  model.add(tf.layers.repeatVector({ n: outLength }));
  model.add(tf.layers.lstm({ units: hidden, returnSequences: true }));
  model.add(tf.layers.timeDistributed({ layer: tf.layers.dense({ units: CHARS.length }) }));
  model.add(tf.layers.activation({ activation: 'softmax' }));
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  if (startFrom) startFrom(model);
  const x = encode(tf, questions.slice(0, trainSize), inLength), y = encode(tf, answers.slice(0, trainSize), outLength);
  const history = await model.fit(x, y, { epochs, batchSize, validationSplit: 0.1, shuffle: false, verbose: 0 });
  // Held-out questions, answered by the most likely character at each place.
  const testQ = questions.slice(trainSize), testA = answers.slice(trainSize);
  const best = tf.argMax(model.predict(encode(tf, testQ, inLength)), 2).arraySync();
  const decoded = best.map((row) => row.map((c) => CHARS[c]).join(''));
  const exact = decoded.filter((d, i) => d === testA[i]).length / testA.length;
  return { history: history.history, exact, examples: testQ.slice(0, 3).map((q, i) => `${q.trim()} = ${decoded[i].trim()}`) };
}
