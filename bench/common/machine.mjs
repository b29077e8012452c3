// Machine description for benchmark reports (factored out of bench/run_mlp.mjs).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

export function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    return line ? line.split(':').slice(1).join(':').trim() : os.cpus()[0]?.model ?? 'unknown';
  } catch {
    return os.cpus()[0]?.model ?? 'unknown';
  }
}

/** The version field of node_modules/<name>/package.json under `root`, or null. */
export function packageVersion(root, name) {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

export function machineInfo() {
  return {
    cpuModel: cpuModel(), logicalCpus: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`, node: process.version, loadavgStart: os.loadavg(),
  };
}
