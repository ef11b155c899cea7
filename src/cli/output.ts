// Writes straight to fds 1 and 2. Creating process.stdout/stderr would put
// O_NONBLOCK on pipes the CLI shares with the container (its stdio is often
// the very pipe a client handed us), so nothing here touches those streams.
import { writeSync } from 'node:fs';

function writeAll(fd: number, str: string): void {
  const buf = Buffer.from(str, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // A reader that made the fd non-blocking (not us) can still hand us EAGAIN.
      if (code === 'EAGAIN') continue;
      // Nobody left to read it (closed pipe/fd): output is best effort.
      if (code === 'EPIPE' || code === 'EBADF') return;
      throw e;
    }
  }
}

/** Writes to stdout (fd 1). */
export function out(str: string): void {
  writeAll(1, str);
}

/** Writes to stderr (fd 2). */
export function err(str: string): void {
  writeAll(2, str);
}
