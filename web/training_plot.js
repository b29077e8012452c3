// The live training plot, drawn by hand on a canvas: training loss (left
// axis) and training accuracy (right axis) against the batch number, epoch
// boundaries, and each epoch's test accuracy as a dot. Redraws at most once
// per animation frame however often points arrive.

const COLORS = { loss: '#e8590c', acc: '#1c7ed6', test: '#2b8a3e', grid: '#e9ecef', axis: '#868e96', text: '#495057' };
const PAD = { left: 46, right: 46, top: 30, bottom: 32 };

export class TrainingPlot {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext('2d');
    this.reset(1);
    new ResizeObserver(() => this.resize()).observe(canvas);
  }

  /** Starts an empty plot whose x axis runs to `totalSteps` batches. */
  reset(totalSteps) {
    this.totalSteps = Math.max(1, totalSteps);
    this.train = []; // {step, loss, acc}
    this.tests = []; // {step, acc, epoch}
    this.scheduleDraw();
  }

  addPoint(step, loss, acc) {
    this.train.push({ step, loss, acc });
    this.canvas.dataset.points = String(this.train.length);
    this.scheduleDraw();
  }

  addTestAccuracy(step, acc) {
    this.tests.push({ step, acc });
    this.scheduleDraw();
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    const { clientWidth: w, clientHeight: h } = this.canvas;
    if (!w || !h) return;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    this.draw();
  }

  scheduleDraw() {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      this.draw();
    });
  }

  draw() {
    const { ctx, canvas } = this;
    const dpr = canvas.width / (canvas.clientWidth || canvas.width);
    const W = canvas.width / dpr, H = canvas.height / dpr;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const plot = { x: PAD.left, y: PAD.top, w: W - PAD.left - PAD.right, h: H - PAD.top - PAD.bottom };
    const lossMax = niceCeil(Math.max(0.5, ...this.train.map((p) => p.loss)), [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]);
    const sx = (step) => plot.x + (plot.w * step) / this.totalSteps;
    const sLoss = (v) => plot.y + plot.h * (1 - Math.min(v, lossMax) / lossMax);
    const sAcc = (v) => plot.y + plot.h * (1 - v);

    ctx.font = '11px system-ui, sans-serif';
    this.drawGrid(plot, lossMax);
    this.drawXAxis(plot, sx);
    this.drawLegend(plot);
    if (!this.train.length) {
      ctx.fillStyle = COLORS.axis;
      ctx.textAlign = 'center';
      ctx.font = '14px system-ui, sans-serif';
      ctx.fillText('Press Train to start', plot.x + plot.w / 2, plot.y + plot.h / 2);
      return;
    }
    this.drawLine(this.train.map((p) => [sx(p.step), sLoss(p.loss)]), COLORS.loss);
    this.drawLine(this.train.map((p) => [sx(p.step), sAcc(p.acc)]), COLORS.acc);
    ctx.fillStyle = COLORS.test;
    ctx.textAlign = 'center';
    for (const t of this.tests) {
      ctx.beginPath();
      ctx.arc(sx(t.step), sAcc(t.acc), 4, 0, 2 * Math.PI);
      ctx.fill();
      ctx.fillText(`${(100 * t.acc).toFixed(1)}%`, Math.min(sx(t.step), plot.x + plot.w - 18), sAcc(t.acc) + 16);
    }
  }

  drawGrid(plot, lossMax) {
    const { ctx } = this;
    const rows = 5;
    for (let i = 0; i <= rows; i++) {
      const y = plot.y + (plot.h * i) / rows;
      ctx.strokeStyle = COLORS.grid;
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(plot.x, Math.round(y) + 0.5);
      ctx.lineTo(plot.x + plot.w, Math.round(y) + 0.5);
      ctx.stroke();
      const frac = 1 - i / rows;
      ctx.textBaseline = 'middle';
      ctx.fillStyle = COLORS.loss;
      ctx.textAlign = 'right';
      ctx.fillText(formatLoss(lossMax * frac), plot.x - 6, y);
      ctx.fillStyle = COLORS.acc;
      ctx.textAlign = 'left';
      ctx.fillText(`${Math.round(100 * frac)}%`, plot.x + plot.w + 6, y);
    }
  }

  drawXAxis(plot, sx) {
    const { ctx } = this;
    const bottom = plot.y + plot.h;
    ctx.fillStyle = COLORS.text;
    ctx.textBaseline = 'top';
    ctx.textAlign = 'center';
    const step = Math.max(1, niceCeil(this.totalSteps / 6, [1, 2, 5, 10]));
    for (let s = 0; s <= this.totalSteps; s += step) ctx.fillText(String(s), sx(s), bottom + 5);
    ctx.fillText('batch', plot.x + plot.w / 2, bottom + 18);
    // Epoch boundaries, dashed.
    ctx.strokeStyle = COLORS.axis;
    ctx.setLineDash([3, 4]);
    for (const t of this.tests.filter((t) => t.step < this.totalSteps)) {
      ctx.beginPath();
      ctx.moveTo(Math.round(sx(t.step)) + 0.5, plot.y);
      ctx.lineTo(Math.round(sx(t.step)) + 0.5, bottom);
      ctx.stroke();
    }
    ctx.setLineDash([]);
  }

  drawLegend(plot) {
    const { ctx } = this;
    const wide = plot.w > 420;
    const items = [[wide ? 'training loss' : 'loss', COLORS.loss], [wide ? 'training accuracy' : 'train acc', COLORS.acc],
      [wide ? 'test accuracy (per epoch)' : 'test acc', COLORS.test]];
    let x = plot.x;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'left';
    for (const [label, color] of items) {
      ctx.fillStyle = color;
      ctx.fillRect(x, 11, 14, 4);
      ctx.fillStyle = COLORS.text;
      ctx.fillText(label, x + 19, 13);
      x += 30 + ctx.measureText(label).width;
    }
  }

  drawLine(points, color) {
    const { ctx } = this;
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.75;
    ctx.lineJoin = 'round';
    ctx.beginPath();
    points.forEach(([x, y], i) => (i ? ctx.lineTo(x, y) : ctx.moveTo(x, y)));
    ctx.stroke();
  }
}

/** The smallest of `mults` times a power of ten that is >= v. */
function niceCeil(v, mults) {
  const p = 10 ** Math.floor(Math.log10(v));
  return mults.map((m) => m * p).find((c) => c >= v - 1e-9);
}

function formatLoss(v) {
  return String(Number(v.toFixed(2)));
}

/** Averages the batch logs over `every` batches, so the plot gets a point every few batches. */
export function smoother(every, emit) {
  let loss = 0, acc = 0, count = 0;
  return ({ step, loss: l, acc: a }) => {
    loss += l; acc += a; count++;
    if (count === every) {
      emit(step, loss / count, acc / count);
      loss = acc = count = 0;
    }
  };
}
