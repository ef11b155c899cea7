// pause, resume, ps, update, events (runc's flags and wordings). Actions load
// the cgroup code lazily so other commands never pay for it.
import type { Command } from 'commander';
import type { GlobalOptions } from '../context.js';
import type { UpdateFlags } from '../../cgroups/cli-flags.js';

const impl = (): Promise<typeof import('../../cgroups/commands.js')> => import('../../cgroups/commands.js');

export function registerCgroupCommands(program: Command, globals: () => GlobalOptions): void {
  program
    .command('pause')
    .description('pause suspends all processes inside the container')
    .argument('<container-id>', 'the container id')
    .action(async (id: string) => (await impl()).pauseCommand(globals(), id));

  program
    .command('resume')
    .description('resumes all processes that have been previously paused')
    .argument('<container-id>', 'the container id')
    .action(async (id: string) => (await impl()).resumeCommand(globals(), id));

  program
    .command('ps')
    .description('ps displays the processes running inside a container')
    .option('-f, --format <format>', 'select one of: table or json', 'table')
    .argument('<container-id>', 'the container id')
    .argument('[ps-args...]', 'arguments for ps (default -ef)')
    .passThroughOptions()
    .action(async (id: string, psArgs: string[], opts: { format: string }) => (await impl()).psCommand(globals(), id, opts.format, psArgs ?? []));

  program
    .command('update')
    .description('update container resource constraints')
    .argument('<container-id>', 'the container id')
    .option('-r, --resources <file>', "path to the file containing the resources to update or '-' to read from the standard input")
    .option('--blkio-weight <n>', 'specifies per cgroup weight, range is from 10 to 1000')
    .option('--cpu-period <n>', 'CPU CFS period to be used for hardcapping (in usecs). 0 to use system default')
    .option('--cpu-quota <n>', 'CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period')
    .option('--cpu-share <n>', 'CPU shares (relative weight vs. other containers)')
    .option('--cpu-rt-period <n>', 'CPU realtime period to be used for hardcapping (in usecs). 0 to use system default')
    .option('--cpu-rt-runtime <n>', 'CPU realtime hardcap limit (in usecs). Allowed cpu time in a given period')
    .option('--cpuset-cpus <list>', 'CPU(s) to use')
    .option('--cpuset-mems <list>', 'Memory node(s) to use')
    .option('--memory <size>', 'Memory limit (in bytes, or with a k/m/g suffix; -1 for unlimited)')
    .option('--memory-reservation <size>', 'Memory reservation or soft_limit (in bytes)')
    .option('--memory-swap <size>', 'Total memory usage (memory + swap); set -1 to enable unlimited swap')
    .option('--pids-limit <n>', 'Maximum number of pids allowed in the container')
    .option('--cpu-idle <n>', 'set cgroup SCHED_IDLE or not, 0: default behavior, 1: SCHED_IDLE')
    .option('--cpu-burst <n>', 'CPU CFS hardcap burst limit (in usecs). Allowed accumulated cpu time additionally for burst a given period')
    .action(async (id: string, f: UpdateFlags) => (await impl()).updateCommand(globals(), id, f));

  program
    .command('events')
    .description('display container events such as OOM notifications, cpu, memory, and IO usage statistics')
    .argument('<container-id>', 'the container id')
    .option('--interval <duration>', 'set the stats collection interval', '5s')
    .option('--stats', 'display the container\'s stats then exit')
    .action(async (id: string, o: { interval?: string; stats?: boolean }) => (await impl()).eventsCommand(globals(), id, o));
}
