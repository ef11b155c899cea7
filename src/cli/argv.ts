// runc's global flags, and the two argv scans that run before (or instead
// of) commander: they must agree with what commander would parse.
import { defaultGlobals, type GlobalOptions } from './context.js';

export interface GlobalFlag {
  flags: string;
  key: keyof GlobalOptions;
  description: string;
  takesValue: boolean;
  choices?: string[];
}

export const GLOBAL_FLAGS: GlobalFlag[] = [
  { flags: '--root <path>', key: 'root', description: 'root directory for storage of container state (this should be located in tmpfs)', takesValue: true },
  { flags: '--log <path>', key: 'log', description: 'set the log file to write tsrunc logs to (default is stderr)', takesValue: true },
  { flags: '--log-format <format>', key: 'logFormat', description: 'set the log format', takesValue: true, choices: ['text', 'json'] },
  { flags: '--debug', key: 'debug', description: 'enable debug logging', takesValue: false },
  { flags: '--systemd-cgroup', key: 'systemdCgroup', description: 'enable systemd cgroup support', takesValue: false },
  { flags: '--rootless <value>', key: 'rootless', description: "ignore cgroup permission errors ('true', 'false', or 'auto')", takesValue: true, choices: ['auto', 'true', 'false'] },
  { flags: '--criu <path>', key: 'criu', description: 'path to the criu binary (accepted for runc compatibility; checkpointing is not supported)', takesValue: true },
];

export function longName(flags: string): string {
  return flags.split(/[ ,]+/).find((f) => f.startsWith('--'))!;
}

export interface Prescan {
  command?: string;
  version: boolean;
  log?: string;
  logFormat?: string;
  debug: boolean;
}

/**
 * A raw look at argv before commander runs: which command is asked for (to
 * skip loading lifecycle code) and where logs go, so even a usage error is
 * recorded in the --log file the client will read.
 */
export function prescan(argv: string[]): Prescan {
  const res: Prescan = { version: false, debug: false };
  const valued = new Set(GLOBAL_FLAGS.filter((f) => f.takesValue).map((f) => longName(f.flags)));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (!a.startsWith('-') || a === '-') {
      res.command ??= a;
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(0, eq) : a;
    let value: string | undefined;
    if (valued.has(name)) value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (name === '--log') res.log = value;
    else if (name === '--log-format') res.logFormat = value;
    else if (a === '--debug') res.debug = true;
    else if ((name === '--version' || name === '-v') && res.command === undefined) res.version = true;
  }
  return res;
}

/**
 * Parses exactly `[globals] <command> <id> [globals]` (global flags in either
 * value form, anywhere). Undefined for anything else (help, unknown or
 * malformed flags, other shapes), which then goes through commander.
 */
export function parseSimple(argv: string[], command: string): { globals: GlobalOptions; id: string } | undefined {
  const globals = defaultGlobals();
  const operands: string[] = [];
  const byName = new Map(GLOBAL_FLAGS.map((f) => [longName(f.flags), f]));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('-') || a === '-') {
      operands.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const f = byName.get(eq > 0 ? a.slice(0, eq) : a);
    if (!f) return undefined;
    let value: string | boolean = true;
    if (f.takesValue) {
      const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || (eq < 0 && v.startsWith('-'))) return undefined;
      if (f.choices && !f.choices.includes(v)) return undefined;
      value = v;
    } else if (eq > 0) return undefined;
    (globals as unknown as Record<string, unknown>)[f.key] = value;
  }
  if (operands.length !== 2 || operands[0] !== command || globals.root === '') return undefined;
  return { globals, id: operands[1]! };
}

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/**
 * runc's boolean global flags also take Go's `--flag=true|false` form (some
 * clients generate it); commander only knows bare switches, so rewrite them
 * first. Arguments after `--` are the container's and stay untouched.
 */
export function normalizeBooleans(argv: string[]): string[] {
  const bools = new Set(GLOBAL_FLAGS.filter((f) => !f.takesValue).map((f) => longName(f.flags)));
  const res: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      res.push(...argv.slice(i));
      break;
    }
    const eq = a.indexOf('=');
    if (eq > 0 && bools.has(a.slice(0, eq))) {
      const v = a.slice(eq + 1);
      if (GO_TRUE.has(v)) {
        res.push(a.slice(0, eq));
        continue;
      }
      if (GO_FALSE.has(v)) continue;
    }
    res.push(a);
  }
  return res;
}
