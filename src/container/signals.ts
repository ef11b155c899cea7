// Signal names as runc's kill accepts them: 9, KILL, SIGKILL (any case).
import * as os from 'node:os';
import { TsruncError } from '../errors.js';

const SIGRTMIN = 34;
const SIGRTMAX = 64;

export function parseSignal(arg: string | undefined): number {
  if (arg === undefined || arg === '') return os.constants.signals.SIGTERM;
  if (/^\d+$/.test(arg)) {
    const n = Number(arg);
    if (n <= SIGRTMAX) return n; // 0 probes, as kill(2) does
    throw new TsruncError(`invalid signal: ${arg}`);
  }
  const name = arg.toUpperCase().replace(/^SIG/, '');
  const rt = /^RTMIN(?:\+(\d+))?$/.exec(name) ?? /^RTMAX(?:-(\d+))?$/.exec(name);
  if (rt) {
    const off = Number(rt[1] ?? 0);
    const n = name.startsWith('RTMIN') ? SIGRTMIN + off : SIGRTMAX - off;
    if (n >= SIGRTMIN && n <= SIGRTMAX) return n;
  }
  const n = (os.constants.signals as Record<string, number>)[`SIG${name}`];
  if (n === undefined) throw new TsruncError(`unknown signal ${JSON.stringify(arg)}`);
  return n;
}
