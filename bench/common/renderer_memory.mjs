// Peak memory of a benchmark page: the VmHWM of the Chromium renderer
// processes started below this Node process (the page and its wasm worker
// threads live in one renderer), sampled from /proc. Linux only.
import { readFileSync, readdirSync } from 'node:fs';

function procChildren() {
  const kids = new Map();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(pid));
    } catch { /* gone */ }
  }
  return kids;
}
function rendererPeaksKiB() {
  const kids = procChildren();
  const out = {};
  const stack = [...(kids.get(process.pid) ?? [])];
  while (stack.length) {
    const pid = stack.pop();
    stack.push(...(kids.get(pid) ?? []));
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer')) continue;
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) out[pid] = Number(m[1]);
    } catch { /* gone */ }
  }
  return out;
}
/** Samples every renderer's VmHWM until stop(); stop() returns the largest seen (KiB) or null. */
export function startRendererSampler(intervalMs = 150) {
  const peaks = {};
  const sample = () => { for (const [pid, kib] of Object.entries(rendererPeaksKiB())) peaks[pid] = Math.max(peaks[pid] ?? 0, kib); };
  const timer = setInterval(sample, intervalMs);
  return () => { clearInterval(timer); sample(); const v = Object.values(peaks); return v.length ? Math.max(...v) : null; };
}
