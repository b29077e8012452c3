// The benchmark drivers' command line: --help, or an option the driver does
// not know, prints the usage (the driver file's header comment) and exits,
// instead of starting a full run that would overwrite the last results.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function handleUsage(driverUrl, args, known) {
  const unknown = args.filter((a) => a.startsWith('-') && !known.includes(a));
  const help = args.includes('--help') || args.includes('-h');
  if (!unknown.length && !help) return;
  const lines = readFileSync(fileURLToPath(driverUrl), 'utf8').split('\n');
  const header = lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.slice(3));
  if (unknown.length && !help) console.error(`unknown option(s): ${unknown.join(' ')}`);
  console.log(header.join('\n'));
  process.exit(unknown.length && !help ? 2 : 0);
}
