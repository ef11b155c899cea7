// Raw argv scans that run before the parser: where logs go and --version,
// and Go's boolean form rewritten for commander (the fast parser takes it
// as is). Flag names come from the table in spec-table.ts.
import type { GlobalOptions } from './context.js';
import { parseArgv } from './parse.js';
import { COMMANDS, GLOBAL_FLAGS } from './spec-table.js';

export interface Prescan {
  command?: string;
  version: boolean;
  log?: string;
  logFormat?: string;
  debug: boolean;
}

/**
 * A raw look at argv before anything is parsed: where logs go, so even a
 * usage error is recorded in the --log file the client will read.
 */
export function prescan(argv: string[]): Prescan {
  const res: Prescan = { version: false, debug: false };
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
    if (GLOBAL_FLAGS.some((f) => f.value && f.long === name)) value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (name === '--log') res.log = value;
    else if (name === '--log-format') res.logFormat = value;
    else if (a === '--debug') res.debug = true;
    else if ((name === '--version' || name === '-v') && res.command === undefined) res.version = true;
  }
  return res;
}

/** `[globals] <command> <id> [globals]` and nothing else; undefined for any other shape. */
export function parseSimple(argv: string[], command: string): { globals: GlobalOptions; id: string } | undefined {
  const inv = parseArgv(argv);
  if (!inv || inv.command.name !== command || inv.args.length !== 1 || typeof inv.args[0] !== 'string') return undefined;
  if (inv.globals.root === '') return undefined;
  return { globals: inv.globals, id: inv.args[0] };
}

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Switches of any command, minus names some command or global gives a value (`--rootless`). */
function switchNames(): Set<string> {
  const all = [...GLOBAL_FLAGS, ...COMMANDS.flatMap((c) => c.flags)];
  const valued = new Set(all.filter((f) => f.value).map((f) => f.long));
  return new Set(all.filter((f) => !f.value && !valued.has(f.long)).map((f) => f.long));
}

/**
 * runc's switches also take Go's `--flag=true|false` form (some clients
 * generate it); commander only knows bare switches, so rewrite them before
 * commander sees argv. Arguments after `--` are the container's.
 */
export function normalizeBooleans(argv: string[]): string[] {
  const bools = switchNames();
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
