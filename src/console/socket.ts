// Handing the pty master to whoever asked for it with --console-socket
// (containerd's shim, conmon): one message on an AF_UNIX stream socket with
// the fd as SCM_RIGHTS and the pty's name as payload (runc's utils.SendFd).
import * as fs from 'node:fs';
import { TsruncError } from '../errors.js';
import type { Sys } from '../sys/linux.js';

export function sendConsole(s: Sys, socketPath: string, master: number, name: string): void {
  let sock: number;
  try {
    sock = s.connectUnix(socketPath);
  } catch (e) {
    throw new TsruncError(`failed to connect to console socket ${socketPath}: ${(e as Error).message}`);
  }
  try {
    s.sendFd(sock, master, name);
  } catch (e) {
    throw new TsruncError(`failed to send the console to ${socketPath}: ${(e as Error).message}`);
  } finally {
    fs.closeSync(sock);
  }
}

/** runc's checkTerminal, with its wordings: a terminal needs a way to reach someone. */
export function checkTerminal(terminal: boolean, detached: boolean, consoleSocket: string | undefined): void {
  if (detached && terminal && !consoleSocket) {
    throw new TsruncError('cannot allocate tty if tsrunc will detach without setting console socket');
  }
  if ((!detached || !terminal) && consoleSocket) {
    throw new TsruncError('cannot use console socket if tsrunc will not detach or allocate tty');
  }
}
