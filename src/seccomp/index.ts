// R's side of seccomp: compile at create (before anything exists on the
// host, so a bad profile leaves nothing behind), then the part of init's plan.
import { log } from '../cli/log.js';
import type { Spec } from '../config/types.js';
import type { HookState } from '../hooks.js';
import { SPEC_VERSION } from '../spec/default.js';
import { compileSeccomp } from './compile.js';
import { realSeccompLib } from './libseccomp.js';
import type { SeccompPlan } from './plan.js';

export type CompiledSeccomp = Pick<SeccompPlan, 'bpf' | 'flags'>;

export function checkSeccomp(spec: Spec): CompiledSeccomp | undefined {
  const cfg = spec.linux?.seccomp;
  if (!cfg) return undefined;
  return compileSeccomp(cfg, realSeccompLib(), { debug: (m) => log.debug(m) });
}

export function seccompInitPlan(spec: Spec, compiled: CompiledSeccomp | undefined, state: HookState): SeccompPlan | undefined {
  if (!compiled) return undefined;
  const cfg = spec.linux!.seccomp!;
  const proc = spec.process;
  // runc: without NNP the filter goes in while init still holds CAP_SYS_ADMIN; with it (or when
  // the process keeps CAP_SYS_ADMIN) it can wait until right before execve.
  const early = !proc?.noNewPrivileges && !(proc?.capabilities?.effective ?? []).includes('CAP_SYS_ADMIN');
  const plan: SeccompPlan = { ...compiled, early };
  if (cfg.listenerPath && compiled.flags & 8 /* NEW_LISTENER */) {
    // The runtime's spec version, as runc's specs.Version: the message's format, not the config's.
    plan.notify = { listenerPath: cfg.listenerPath, state, ociVersion: SPEC_VERSION, ...(cfg.listenerMetadata !== undefined ? { metadata: cfg.listenerMetadata } : {}) };
  }
  return plan;
}
