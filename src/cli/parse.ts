// The strict argv parser every call goes through (commander costs ~10 ms to
// load and build; see usage.ts). It accepts exactly what commander, built
// from the same table, would run the same way, plus Go's `--flag=true|false`
// for switches (urfave/cli's form). Anything else (help, unknown command or
// flag, bad value, wrong argument count, `-abc` clusters) returns undefined,
// and commander then words the error or runs what it alone understands.
import { defaultGlobals, type GlobalOptions } from './context.js';
import { attributeName, COMMANDS, GLOBAL_FLAGS, isNegated, type CommandSpec, type FlagSpec } from './spec-table.js';

export interface Invocation {
  command: CommandSpec;
  globals: GlobalOptions;
  args: (string | string[] | undefined)[];
  opts: Record<string, unknown>;
}

const GO_TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const GO_FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** commander's test for an option-looking word. */
const isOption = (a: string): boolean => a.length > 1 && a[0] === '-';

/** An option word matched against `flags`: the flag and its value, or false for no match / bad usage. */
type Match = { flag: FlagSpec; value: string | boolean; next: number } | false | undefined;

function matchFlag(argv: string[], i: number, flags: readonly FlagSpec[]): Match {
  const a = argv[i]!;
  const eq = a.startsWith('--') ? a.indexOf('=') : -1;
  const name = eq > 0 ? a.slice(0, eq) : a;
  const flag = flags.find((f) => f.long === name || f.short === name);
  if (!flag) return undefined;
  if (flag.value) {
    if (eq > 0) return { flag, value: a.slice(eq + 1), next: i + 1 };
    const v = argv[i + 1];
    // commander takes the next word whatever it looks like.
    return v === undefined ? false : { flag, value: v, next: i + 2 };
  }
  if (eq < 0) return { flag, value: true, next: i + 1 };
  const v = a.slice(eq + 1);
  if (GO_TRUE.has(v)) return { flag, value: true, next: i + 1 };
  if (GO_FALSE.has(v)) return { flag, value: false, next: i + 1 };
  return false;
}

function valid(flag: FlagSpec, value: string | boolean): boolean {
  return typeof value !== 'string' || !flag.choices || flag.choices.includes(value);
}

function setGlobal(globals: GlobalOptions, flag: FlagSpec, value: string | boolean): void {
  const key = GLOBAL_FLAGS.find((g) => g === flag)!.key;
  // `--debug=false` leaves the default.
  if (value !== false) (globals as unknown as Record<string, unknown>)[key] = value;
}

function setOption(opts: Record<string, unknown>, flag: FlagSpec, value: string | boolean): void {
  const key = attributeName(flag.long);
  if (value === false) return;
  if (isNegated(flag)) opts[key] = false;
  else if (flag.repeatable) opts[key] = [...((opts[key] as string[] | undefined) ?? []), value];
  else opts[key] = value;
}

export function parseArgv(argv: string[]): Invocation | undefined {
  const globals = defaultGlobals();
  let i = 0;
  let command: CommandSpec | undefined;
  // Before the command: global flags only (commander's positional options).
  while (i < argv.length) {
    const a = argv[i]!;
    if (!isOption(a)) {
      command = COMMANDS.find((c) => c.name === a);
      i++;
      break;
    }
    const m = matchFlag(argv, i, GLOBAL_FLAGS);
    if (!m || !valid(m.flag, m.value)) return undefined;
    setGlobal(globals, m.flag, m.value);
    i = m.next;
  }
  if (!command) return undefined;

  const opts: Record<string, unknown> = {};
  for (const f of command.flags) {
    if (f.default !== undefined) opts[attributeName(f.long)] = f.default;
    else if (isNegated(f)) opts[attributeName(f.long)] = true;
  }
  // A command's own flag shadows the global of the same name (`spec --rootless`).
  const globalsHere = GLOBAL_FLAGS.filter((g) => !command.flags.some((f) => f.long === g.long));
  const operands: string[] = [];
  while (i < argv.length) {
    const a = argv[i]!;
    if (command.passThrough && operands.length > 0) {
      operands.push(...argv.slice(i));
      break;
    }
    if (a === '--') {
      operands.push(...argv.slice(i + 1));
      break;
    }
    if (!isOption(a)) {
      operands.push(a);
      i++;
      continue;
    }
    const own = matchFlag(argv, i, command.flags);
    if (own) {
      if (!valid(own.flag, own.value)) return undefined;
      setOption(opts, own.flag, own.value);
      i = own.next;
      continue;
    }
    if (own === false) return undefined;
    const g = matchFlag(argv, i, globalsHere);
    if (!g || !valid(g.flag, g.value)) return undefined;
    setGlobal(globals, g.flag, g.value);
    i = g.next;
  }

  const args: (string | string[] | undefined)[] = [];
  let k = 0;
  for (const spec of command.args) {
    if (spec.variadic) {
      args.push(operands.slice(k));
      k = operands.length;
    } else if (k < operands.length) args.push(operands[k++]);
    else if (spec.required) return undefined;
    else args.push(undefined);
  }
  if (k < operands.length) return undefined;
  return { command, globals, args, opts };
}
