// Every message on the sync socket. nsexec (C) sends the first three; the
// rest are between the runtime (R) and Node init (I), in this order:
//   H->R userns? -> R->H ack -> H->R pid -> R->I plan -> I->R ready
//   -> R->I joined (cgroups) -> I->R created | error -> R->I ok | start
import type { InitPlan } from '../init/plan.js';

export type Message =
  | { type: 'userns'; pid: number }
  | { type: 'pid'; pid: number }
  | { type: 'error'; step?: string; detail?: string; errno?: number; message?: string }
  | { type: 'ack' }
  | { type: 'plan'; plan: InitPlan }
  | { type: 'ready' }
  | { type: 'joined' }
  | { type: 'log'; message: string }
  | { type: 'created' }
  | { type: 'ok' }
  | { type: 'start' };
