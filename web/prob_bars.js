// A bar chart of the ten class probabilities (plain DOM): one row per digit,
// the most likely one highlighted. Each row carries data-p for automation.

export class ProbBars {
  constructor(container) {
    this.rows = Array.from({ length: 10 }, (_, digit) => {
      const row = document.createElement('div');
      row.className = 'prob-row';
      row.innerHTML = `<span class="prob-digit">${digit}</span><span class="prob-track"><span class="prob-fill"></span></span><span class="prob-value"></span>`;
      container.append(row);
      return { row, fill: row.querySelector('.prob-fill'), value: row.querySelector('.prob-value') };
    });
    this.clear();
  }

  show(probs) {
    const best = probs.indexOf(Math.max(...probs));
    this.rows.forEach(({ row, fill, value }, d) => {
      const p = probs[d];
      row.dataset.p = String(p);
      row.classList.toggle('best', d === best);
      fill.style.width = `${(100 * p).toFixed(1)}%`;
      value.textContent = `${(100 * p).toFixed(1)}%`;
    });
  }

  clear() {
    for (const { row, fill, value } of this.rows) {
      delete row.dataset.p;
      row.classList.remove('best');
      fill.style.width = '0';
      value.textContent = '';
    }
  }
}
