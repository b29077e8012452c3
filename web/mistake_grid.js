// A grid of misclassified test images: each one drawn on a small canvas with
// its true label, the model's predicted label and the model's confidence in
// that prediction. Each item carries data-index (into the test set),
// data-label, data-prediction and data-confidence for automation.
import { digitCanvas } from './digit_strip.js';

/** mistakes: [{index, label, prediction, confidence}] (cnn_model.js misclassified()). */
export function renderMistakeGrid(container, { images, mistakes, classes }) {
  container.replaceChildren();
  for (const m of mistakes) {
    const item = document.createElement('figure');
    item.className = 'mistake';
    Object.assign(item.dataset, { index: String(m.index), label: String(m.label), prediction: String(m.prediction),
      confidence: String(m.confidence) });
    item.title = `test image ${m.index}: a ${classes[m.label]}, read as ${classes[m.prediction]}`;
    const line = (cls, text) => Object.assign(document.createElement('span'), { className: cls, textContent: text });
    item.append(
      digitCanvas(images.subarray(m.index * 784, (m.index + 1) * 784)),
      line('truth', `true: ${classes[m.label]}`),
      line('predicted', `predicted: ${classes[m.prediction]}`),
      line('confidence', `${(100 * m.confidence).toFixed(1)}% sure`),
    );
    container.append(item);
  }
}
