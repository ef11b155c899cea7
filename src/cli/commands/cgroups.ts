// pause, resume, ps, update, events: the actions (their flags are declared in
// ../spec-table.ts). They load the cgroup code lazily so other commands never
// pay for it.
import type { Command } from 'commander';
import { addCommand } from '../commander-table.js';
import type { GlobalOptions } from '../context.js';
import { COMMANDS } from '../spec-table.js';
import type { UpdateFlags } from '../../cgroups/cli-flags.js';

const CGROUP_COMMANDS = new Set(['pause', 'resume', 'ps', 'update', 'events']);

const impl = (): Promise<typeof import('../../cgroups/commands.js')> => import('../../cgroups/commands.js');

export async function pauseAction(g: GlobalOptions, id: string): Promise<void> {
  return (await impl()).pauseCommand(g, id);
}

export async function resumeAction(g: GlobalOptions, id: string): Promise<void> {
  return (await impl()).resumeCommand(g, id);
}

export async function psAction(g: GlobalOptions, id: string, psArgs: string[], o: { format?: string }): Promise<void> {
  return (await impl()).psCommand(g, id, o.format ?? 'table', psArgs);
}

export async function updateAction(g: GlobalOptions, id: string, f: UpdateFlags): Promise<void> {
  return (await impl()).updateCommand(g, id, f);
}

export async function eventsAction(g: GlobalOptions, id: string, o: { interval?: string; stats?: boolean }): Promise<void> {
  return (await impl()).eventsCommand(g, id, o);
}

/** The cgroup commands on a caller's commander program (tests drive them without the rest of the CLI). */
export function registerCgroupCommands(program: Command, globals: () => GlobalOptions): void {
  for (const spec of COMMANDS) if (CGROUP_COMMANDS.has(spec.name)) addCommand(program, spec, globals);
}
