// The command table as commander commands. Only commander's instance
// methods are used (no import of commander itself), so callers that already
// hold a program (usage.ts, the registerCgroupCommands adapter) pay nothing.
import type { Command, Option } from 'commander';
import type { GlobalOptions } from './context.js';
import type { CommandSpec, FlagSpec, GlobalFlagSpec } from './spec-table.js';

export function flagOption(cmd: Command, f: FlagSpec, hidden = false): Option {
  const o = cmd.createOption(`${f.short ? `${f.short}, ` : ''}${f.long}${f.value ? ` ${f.value}` : ''}`, f.description);
  if (f.choices) o.choices(f.choices);
  if (f.default !== undefined) o.default(f.default);
  if (f.repeatable) o.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
  if (hidden) o.hideHelp();
  return o;
}

export interface AddOptions {
  /** Globals the command also accepts after its name (hidden in its help). */
  globalFlags?: readonly GlobalFlagSpec[];
  /** Runs before the action, with the globals merged from the hidden flags. */
  before?: (globals: GlobalOptions, sub: Command) => void;
  configure?: (sub: Command) => void;
}

export function addCommand(program: Command, spec: CommandSpec, globals: () => GlobalOptions, o: AddOptions = {}): Command {
  const sub = program.command(spec.name).description(spec.description);
  o.configure?.(sub);
  for (const a of spec.args) {
    const name = `${a.name}${a.variadic ? '...' : ''}`;
    sub.argument(a.required ? `<${name}>` : `[${name}]`, a.description);
  }
  for (const f of spec.flags) sub.addOption(flagOption(sub, f));
  const hidden = new Map<Option, GlobalFlagSpec>();
  for (const f of o.globalFlags ?? []) {
    // A command's own flag of the same name wins (`spec --rootless`).
    if (spec.flags.some((x) => x.long === f.long)) continue;
    const opt = flagOption(sub, f, true);
    sub.addOption(opt);
    hidden.set(opt, f);
  }
  if (spec.passThrough) sub.passThroughOptions();
  sub.action(async (...params: unknown[]) => {
    const cmd = params.at(-1) as Command;
    const g = globals();
    for (const [opt, f] of hidden) {
      const v: unknown = cmd.getOptionValue(opt.attributeName());
      if (v !== undefined) (g as unknown as Record<string, unknown>)[f.key] = v;
    }
    o.before?.(g, cmd);
    const opts: Record<string, unknown> = {};
    for (const opt of cmd.options) {
      const v: unknown = cmd.getOptionValue(opt.attributeName());
      if (!hidden.has(opt) && v !== undefined) opts[opt.attributeName()] = v;
    }
    await spec.action(g, cmd.processedArgs as (string | string[] | undefined)[], opts);
  });
  return sub;
}
