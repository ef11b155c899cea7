// linux.sysctl, written by init from inside the container's namespaces
// (a sysctl acts on the writer's namespaces, whatever procfs names it).
// Through the verified procfs handle, never the container's /proc: a mount or
// an image file at /proc/sys/... must not swallow or redirect the write.
// Synchronous fs calls on the main thread: init must not start libuv's pool here.
import * as fs from 'node:fs';
import { TsruncError } from '../errors.js';
import type { Sys } from '../sys/linux.js';
import type { Procfs } from '../sys/procfs.js';

/** "net.ipv4.ip_forward" -> net/ipv4/ip_forward; with '/' separators, '.' is part of a name (sysctl(8)). */
export function sysctlPath(key: string): string {
  const first = key.search(/[./]/);
  if (first < 0 || key[first] === '/') return key;
  return key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

export function writeSysctls(s: Sys, proc: Procfs, sysctl: Record<string, string>): void {
  for (const [key, value] of Object.entries(sysctl)) {
    const rel = `sys/${sysctlPath(key)}`;
    let fd: number;
    try {
      fd = proc.openFile(s, rel, fs.constants.O_WRONLY | fs.constants.O_TRUNC);
    } catch (e) {
      throw new TsruncError(`sysctl ${JSON.stringify(key)}: open /proc/${rel}: ${(e as { code?: string }).code ?? (e as Error).message}`);
    }
    try {
      fs.writeSync(fd, value);
    } catch (e) {
      throw new TsruncError(`sysctl ${JSON.stringify(key)}: write ${JSON.stringify(value)} to /proc/${rel}: ${(e as { code?: string }).code ?? e}`);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/**
 * The semantic check admits net.* keys whenever a network namespace is
 * listed; a joined one may still be the runtime's own (runc's isHostNetNS),
 * where the write would change the host. Checked by R before anything exists.
 */
export function checkSysctlNetns(sysctl: Record<string, string> | undefined, joins: { type: string; path?: string }[]): void {
  const key = Object.keys(sysctl ?? {}).find((k) => k.startsWith('net.') || k.startsWith('net/'));
  const join = joins.find((j) => j.type === 'network');
  if (key === undefined || !join?.path) return;
  const joined = fs.statSync(join.path);
  const own = fs.statSync('/proc/self/ns/net');
  if (joined.dev === own.dev && joined.ino === own.ino) throw new TsruncError(`sysctl ${JSON.stringify(key)} not allowed in host network namespace`);
}
