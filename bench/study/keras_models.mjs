// The study's five Keras models (Figure 5) built through a Layers API, as
// keras.applications defines them: MobileNetV2, ResNet50, DenseNet121,
// InceptionV3, Xception. `ns` is a TF.js-style namespace (TF.js's `tf`, or
// Kiln, whose Layers API mirrors it): ns.input, ns.model, ns.layers.*. The
// same code builds both, so a TF.js model and the Kiln model loaded from its
// saved file are one architecture with one set of weights.
export const KERAS_MODELS = {
  MobileNetV2: { size: 224, build: mobilenetV2 },
  ResNet50: { size: 224, build: resnet50 },
  DenseNet121: { size: 224, build: densenet121 },
  InceptionV3: { size: 299, build: inceptionV3 },
  Xception: { size: 299, build: xception },
};

const bn = (L, x, extra = {}) => L.batchNormalization({ axis: -1, epsilon: 1.001e-5, ...extra }).apply(x);
const relu = (L, x) => L.activation({ activation: 'relu' }).apply(x);
const conv = (L, x, filters, kernelSize, { strides = 1, padding = 'same', useBias = false } = {}) =>
  L.conv2d({ filters, kernelSize, strides, padding, useBias }).apply(x);
const head = (ns, input, x) => {
  const L = ns.layers;
  x = L.globalAveragePooling2d({}).apply(x);
  return ns.model({ inputs: input, outputs: L.dense({ units: 1000, activation: 'softmax' }).apply(x) });
};

function mobilenetV2(ns, size) {
  const L = ns.layers;
  const input = ns.input({ shape: [size, size, 3] });
  const relu6 = (x) => L.reLU({ maxValue: 6 }).apply(x);
  let x = relu6(bn(L, conv(L, input, 32, 3, { strides: 2 }), { epsilon: 1e-3 }));
  let channels = 32;
  for (const [t, c, n, s] of [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]) {
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s : 1;
      let y = x;
      if (t !== 1) y = relu6(bn(L, conv(L, y, channels * t, 1), { epsilon: 1e-3 }));
      y = relu6(bn(L, L.depthwiseConv2d({ kernelSize: 3, strides: stride, padding: 'same', useBias: false }).apply(y), { epsilon: 1e-3 }));
      y = bn(L, conv(L, y, c, 1), { epsilon: 1e-3 });
      x = stride === 1 && channels === c ? L.add().apply([x, y]) : y;
      channels = c;
    }
  }
  x = relu6(bn(L, conv(L, x, 1280, 1), { epsilon: 1e-3 }));
  return head(ns, input, x);
}

function resnet50(ns, size) {
  const L = ns.layers;
  const input = ns.input({ shape: [size, size, 3] });
  let x = L.zeroPadding2d({ padding: 3 }).apply(input);
  x = relu(L, bn(L, conv(L, x, 64, 7, { strides: 2, padding: 'valid', useBias: true })));
  x = L.maxPooling2d({ poolSize: 3, strides: 2 }).apply(L.zeroPadding2d({ padding: 1 }).apply(x));
  for (const [filters, blocks, stride] of [[64, 3, 1], [128, 4, 2], [256, 6, 2], [512, 3, 2]]) {
    for (let b = 0; b < blocks; b++) {
      const s = b === 0 ? stride : 1;
      const shortcut = b === 0 ? bn(L, conv(L, x, 4 * filters, 1, { strides: s, useBias: true })) : x;
      let y = relu(L, bn(L, conv(L, x, filters, 1, { strides: s, useBias: true })));
      y = relu(L, bn(L, conv(L, y, filters, 3, { useBias: true })));
      y = bn(L, conv(L, y, 4 * filters, 1, { useBias: true }));
      x = relu(L, L.add().apply([shortcut, y]));
    }
  }
  return head(ns, input, x);
}

function densenet121(ns, size) {
  const L = ns.layers;
  const input = ns.input({ shape: [size, size, 3] });
  let x = L.zeroPadding2d({ padding: 3 }).apply(input);
  x = relu(L, bn(L, conv(L, x, 64, 7, { strides: 2, padding: 'valid' })));
  x = L.maxPooling2d({ poolSize: 3, strides: 2 }).apply(L.zeroPadding2d({ padding: 1 }).apply(x));
  let channels = 64;
  [6, 12, 24, 16].forEach((blocks, i) => {
    for (let b = 0; b < blocks; b++) {
      let y = conv(L, relu(L, bn(L, x)), 128, 1);
      y = conv(L, relu(L, bn(L, y)), 32, 3);
      x = L.concatenate({ axis: -1 }).apply([x, y]);
      channels += 32;
    }
    if (i < 3) {
      channels = Math.floor(channels / 2);
      x = L.averagePooling2d({ poolSize: 2, strides: 2 }).apply(conv(L, relu(L, bn(L, x)), channels, 1));
    }
  });
  return head(ns, input, relu(L, bn(L, x)));
}

function inceptionV3(ns, size) {
  const L = ns.layers;
  const input = ns.input({ shape: [size, size, 3] });
  // Keras's conv2d_bn: a convolution without bias, BatchNorm without scale, ReLU.
  const cb = (x, f, kh, kw, strides = 1, padding = 'same') =>
    relu(L, L.batchNormalization({ axis: -1, scale: false, epsilon: 1e-3 }).apply(conv(L, x, f, [kh, kw], { strides, padding })));
  const cat = (xs) => L.concatenate({ axis: -1 }).apply(xs);
  const avg = (x) => L.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(x);
  const maxp = (x) => L.maxPooling2d({ poolSize: 3, strides: 2 }).apply(x);
  let x = cb(input, 32, 3, 3, 2, 'valid');
  x = cb(x, 32, 3, 3, 1, 'valid');
  x = maxp(cb(x, 64, 3, 3));
  x = cb(x, 80, 1, 1, 1, 'valid');
  x = maxp(cb(x, 192, 3, 3, 1, 'valid'));
  for (const poolFilters of [32, 64, 64])
    x = cat([cb(x, 64, 1, 1), cb(cb(x, 48, 1, 1), 64, 5, 5), cb(cb(cb(x, 64, 1, 1), 96, 3, 3), 96, 3, 3), cb(avg(x), poolFilters, 1, 1)]);
  x = cat([cb(x, 384, 3, 3, 2, 'valid'), cb(cb(cb(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, 2, 'valid'), maxp(x)]);
  for (const c of [128, 160, 160, 192]) {
    const b7 = cb(cb(cb(x, c, 1, 1), c, 1, 7), 192, 7, 1);
    const b7d = cb(cb(cb(cb(cb(x, c, 1, 1), c, 7, 1), c, 1, 7), c, 7, 1), 192, 1, 7);
    x = cat([cb(x, 192, 1, 1), b7, b7d, cb(avg(x), 192, 1, 1)]);
  }
  x = cat([cb(cb(x, 192, 1, 1), 320, 3, 3, 2, 'valid'), cb(cb(cb(cb(x, 192, 1, 1), 192, 1, 7), 192, 7, 1), 192, 3, 3, 2, 'valid'), maxp(x)]);
  for (let i = 0; i < 2; i++) {
    const b3 = cb(x, 384, 1, 1);
    const b3d = cb(cb(x, 448, 1, 1), 384, 3, 3);
    x = cat([cb(x, 320, 1, 1), cat([cb(b3, 384, 1, 3), cb(b3, 384, 3, 1)]), cat([cb(b3d, 384, 1, 3), cb(b3d, 384, 3, 1)]), cb(avg(x), 192, 1, 1)]);
  }
  return head(ns, input, x);
}

function xception(ns, size) {
  const L = ns.layers;
  const input = ns.input({ shape: [size, size, 3] });
  const sep = (x, f) => L.separableConv2d({ filters: f, kernelSize: 3, padding: 'same', useBias: false }).apply(x);
  const pool = (x) => L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(x);
  const down = (x, mid, out, reluFirst) => {
    const shortcut = bn(L, conv(L, x, out, 1, { strides: 2 }));
    let y = bn(L, sep(reluFirst ? relu(L, x) : x, mid));
    y = pool(bn(L, sep(relu(L, y), out)));
    return L.add().apply([y, shortcut]);
  };
  let x = relu(L, bn(L, conv(L, input, 32, 3, { strides: 2, padding: 'valid' })));
  x = relu(L, bn(L, conv(L, x, 64, 3, { padding: 'valid' })));
  x = down(x, 128, 128, false);
  x = down(x, 256, 256, true);
  x = down(x, 728, 728, true);
  for (let i = 0; i < 8; i++) {
    let y = x;
    for (let k = 0; k < 3; k++) y = bn(L, sep(relu(L, y), 728));
    x = L.add().apply([y, x]);
  }
  x = down(x, 728, 1024, true);
  x = relu(L, bn(L, sep(x, 1536)));
  x = relu(L, bn(L, sep(x, 2048)));
  return head(ns, input, x);
}
