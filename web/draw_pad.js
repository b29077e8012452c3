// A canvas to draw a digit on with mouse, pen or touch: thick white strokes
// on black, like the MNIST digits. Calls onStrokeEnd after each stroke.

export class DrawPad {
  constructor(canvas, { lineWidth = 22, onStrokeEnd = () => {} } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d', { willReadFrequently: true });
    this.lineWidth = lineWidth;
    this.onStrokeEnd = onStrokeEnd;
    this.last = null;
    canvas.addEventListener('pointerdown', (e) => this.start(e));
    canvas.addEventListener('pointermove', (e) => this.move(e));
    canvas.addEventListener('pointerup', (e) => this.end(e));
    canvas.addEventListener('pointercancel', (e) => this.end(e));
    this.clear();
  }

  clear() {
    this.ctx.fillStyle = '#000';
    this.ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
  }

  /** Paints a 28x28 image ([0, 1], white on black) over the whole pad. */
  paintImage(pixels, size = 28) {
    const cell = this.canvas.width / size;
    for (let i = 0; i < size * size; i++) {
      const v = Math.round(255 * pixels[i]);
      this.ctx.fillStyle = `rgb(${v},${v},${v})`;
      this.ctx.fillRect((i % size) * cell, Math.floor(i / size) * cell, cell, cell);
    }
  }

  // Pointer position in canvas pixels (the canvas may be scaled by CSS).
  point(e) {
    const r = this.canvas.getBoundingClientRect();
    return { x: ((e.clientX - r.left) * this.canvas.width) / r.width, y: ((e.clientY - r.top) * this.canvas.height) / r.height };
  }

  start(e) {
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    this.last = this.point(e);
    this.segment(this.last, this.last);
  }

  move(e) {
    if (!this.last) return;
    const p = this.point(e);
    this.segment(this.last, p);
    this.last = p;
  }

  end(e) {
    if (!this.last) return;
    this.last = null;
    if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
    this.onStrokeEnd();
  }

  segment(a, b) {
    const { ctx } = this;
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = this.lineWidth;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
  }
}
