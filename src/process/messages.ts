// Every message on the sync socket. nsexec (C) sends the first three; the
// rest are between the runtime (R) and Node init (I), in this order:
//   H->R userns? -> R->H ack -> H->R pid -> R->I plan -> I->R ready
//   -> R->I joined (cgroups) -> I->R hooks? -> R->I hooked -> I->R console?
//   -> I->R created | error -> R->I ok | start
import type { InitPlan } from '../init/plan.js';
import type { ExecPlan } from './exec-plan.js';

export type Message =
  | { type: 'userns'; pid: number }
  | { type: 'pid'; pid: number }
  | { type: 'error'; step?: string; detail?: string; errno?: number; message?: string }
  | { type: 'ack' }
  | { type: 'plan'; plan: InitPlan }
  // exec: instead of `plan` (init.cjs started with the `exec` mode); then ready/joined/console?/created/start as for create.
  | { type: 'exec-plan'; plan: ExecPlan }
  | { type: 'ready' }
  | { type: 'joined' }
  | { type: 'log'; message: string }
  | { type: 'created' }
  // I->R before pivot_root when there are create-phase hooks (R runs prestart/createRuntime); R answers `hooked`.
  | { type: 'hooks' }
  | { type: 'hooked' }
  // I->R with process.terminal: the pty master follows as SCM_RIGHTS on the next message.
  | { type: 'console'; name: string }
  | { type: 'ok' }
  | { type: 'start' };
