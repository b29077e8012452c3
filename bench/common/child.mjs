// Runs a child process of ours and collects its output: the generalized form
// of runChild in bench/run_mlp.mjs (cwd and the line logger are parameters).
import { spawn } from 'node:child_process';

/**
 * @returns Promise<{ code, stdout, stderr, timedOut }>; each complete stderr
 *          line is passed to `onStderrLine` as it arrives.
 */
export function runChild(cmd, argv, { cwd, timeoutMs, onStderrLine = () => {} }) {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', timedOut = false, pending = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => {
      stderr += d;
      pending += d;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const l of lines) if (l.trim()) onStderrLine(l);
    });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolvePromise({ code, stdout, stderr, timedOut }); });
    child.on('error', (e) => { clearTimeout(timer); resolvePromise({ code: -1, stdout, stderr: stderr + String(e), timedOut }); });
  });
}

/**
 * Runs a benchmark worker (node ARGV...) that prints one JSON line last:
 * resolves to { parsed } or { error } (a timeout, or the end of its stderr).
 */
export async function runJsonWorker(argv, { cwd, timeoutMs }) {
  const res = await runChild(process.execPath, argv, { cwd, timeoutMs });
  try {
    return { parsed: JSON.parse(res.stdout.trim().split('\n').pop()), error: null };
  } catch {
    return { parsed: null, error: res.timedOut ? 'timed out' : res.stderr.trim().split('\n').slice(-3).join(' ') || `exit ${res.code}` };
  }
}
