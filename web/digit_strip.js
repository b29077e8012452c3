// A strip of test digits, each with the model's prediction: green when
// right, red when wrong. Clicking one calls onPick(pixels).

export function renderDigitStrip(container, { images, labels, predictions, onPick }) {
  container.replaceChildren();
  predictions.forEach((pred, i) => {
    const pixels = images.subarray(i * 784, (i + 1) * 784);
    const item = document.createElement('button');
    item.type = 'button';
    item.className = `strip-item ${pred === labels[i] ? 'right' : 'wrong'}`;
    item.title = `label ${labels[i]}, predicted ${pred} (click to classify it in the pad)`;
    item.dataset.label = String(labels[i]);
    item.dataset.prediction = String(pred);
    item.append(digitCanvas(pixels), Object.assign(document.createElement('span'), { textContent: String(pred) }));
    item.addEventListener('click', () => onPick?.(pixels));
    container.append(item);
  });
}

/** A 28x28 canvas of a [0, 1] white-on-black image (scaled up by CSS). */
export function digitCanvas(pixels, canvas = document.createElement('canvas')) {
  canvas.width = canvas.height = 28;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(28, 28);
  for (let i = 0; i < 784; i++) {
    const v = Math.round(255 * pixels[i]);
    img.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}
