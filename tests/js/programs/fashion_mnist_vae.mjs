// A TF.js program in the manner of tfjs-examples' fashion-mnist-vae (written
// here, not copied): a variational autoencoder of Fashion-MNIST images built
// from an encoder model (with a custom sampling layer, the reparameterization
// trick) and a decoder model, joined by calling them as layers, and trained
// with a custom loss (reconstruction plus KL divergence) through
// optimizer.minimize() around vae.apply(images): the model runs eagerly
// under autograd. `tf` is the library under test.
export function run(tf, data, {
  images = 2000, batchSize = 100, epochs = 3, intermediateDim = 128, latentDim = 2, noise = 1, seed = undefined, startFrom = null,
} = {}) {
  // `seed`: each draw of epsilon seeded (seed, seed + 1, ...), so a run repeats.
  let draws = 0;
  const originalDim = 784;

  // z = mean + exp(logVar / 2) * epsilon, epsilon ~ N(0, noise^2).
  class SampleZ extends tf.layers.Layer {
    computeOutputShape(inputShape) { return inputShape[0]; }
    call(inputs) {
      const [zMean, zLogVar] = inputs;
      return tf.tidy(() => {
        const epsilon = tf.randomNormal(zMean.shape, 0, noise, 'float32', seed === undefined ? undefined : seed + draws++);
        return zMean.add(zLogVar.mul(0.5).exp().mul(epsilon));
      });
    }
    static get className() { return 'SampleZ'; }
  }

  const encoderInput = tf.input({ shape: [originalDim], name: 'encoder_input' });
  const hidden = tf.layers.dense({ units: intermediateDim, activation: 'relu' }).apply(encoderInput);
  const zMean = tf.layers.dense({ units: latentDim, name: 'z_mean' }).apply(hidden);
  const zLogVar = tf.layers.dense({ units: latentDim, name: 'z_log_var' }).apply(hidden);
  const z = new SampleZ({ name: 'z' }).apply([zMean, zLogVar]);
  const encoder = tf.model({ inputs: encoderInput, outputs: [zMean, zLogVar, z], name: 'encoder' });

  const decoder = tf.sequential({ name: 'decoder' });
  decoder.add(tf.layers.dense({ units: intermediateDim, activation: 'relu', inputShape: [latentDim] }));
  decoder.add(tf.layers.dense({ units: originalDim, activation: 'sigmoid' }));

  const encoded = encoder.apply(encoder.inputs);
  const vae = tf.model({ inputs: encoder.inputs, outputs: [decoder.apply(encoded[2]), ...encoded], name: 'vae' });
  if (startFrom) startFrom(vae);

  const vaeLoss = (inputs, [decoded, mean, logVar]) => tf.tidy(() => {
    const reconstruction = tf.losses.meanSquaredError(inputs, decoded).mul(originalDim);
    const kl = logVar.add(1).sub(mean.square()).sub(logVar.exp()).sum(-1).mul(-0.5);
    return reconstruction.add(kl).mean();
  });

  const n = Math.min(images, data.train.labels.length);
  const optimizer = tf.train.adam();
  const losses = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    let sum = 0, batches = 0;
    for (let start = 0; start + batchSize <= n; start += batchSize) {
      const batch = tf.tensor2d(data.train.images.subarray(start * originalDim, (start + batchSize) * originalDim), [batchSize, originalDim]);
      const cost = optimizer.minimize(() => vaeLoss(batch, vae.apply(batch)), true);
      sum += cost.dataSync()[0];
      batches++;
      tf.dispose([cost, batch]);
    }
    losses.push(sum / batches);
  }
  // The decoder alone, from the middle of the latent space (as the example previews).
  const preview = tf.tidy(() => decoder.predict(tf.zeros([1, latentDim])).dataSync());
  // Held-out reconstruction error, through the whole VAE in inference.
  const test = tf.tensor2d(data.test.images.subarray(0, 200 * originalDim), [200, originalDim]);
  const outputs = vae.predict(test);
  const testError = tf.tidy(() => tf.losses.meanSquaredError(test, outputs[0]).dataSync()[0]);
  const meanImage = tf.tidy(() => tf.losses.meanSquaredError(test, tf.mean(test, 0, true).tile([200, 1])).dataSync()[0]);
  tf.dispose([test, ...outputs]);
  return { losses, preview, testError, meanImage, vae };
}
