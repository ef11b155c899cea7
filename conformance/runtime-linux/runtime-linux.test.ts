// runtime-linux.md: file descriptors and /dev symlinks.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import t from 'tap';
import { Runtime, requirement, newId, RUNTIME } from '../lib/harness.js';

const rt = new Runtime(t);

// "By default, only the stdin, stdout and stderr file descriptors are kept
// open for the application by the runtime. The runtime MAY pass additional
// file descriptors to the application to support features such as socket
// activation."
requirement(t, { id: 'linux.fds', section: 'runtime-linux.md#file-descriptors', level: 'MUST', title: 'only stdin, stdout and stderr reach the program (no fds leak from the caller)' }, async (t) => {
  const { bundle, out } = rt.outBundle('ls /proc/self/fd > /out/fds');
  // The caller holds an extra, inheritable fd 3 (and 4) when it runs the
  // runtime: a runtime that does not close them would hand them on.
  const extra = fs.openSync(path.join(out, 'extra'), 'w');
  const id = rt.track(newId());
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(RUNTIME, ['--root', rt.root, 'run', '--bundle', bundle.dir, id], { stdio: ['ignore', 'ignore', 'ignore', extra, extra] });
    child.on('exit', (c) => resolve(c));
  });
  fs.closeSync(extra);
  t.equal(code, 0, 'run succeeds');
  // ls itself opens one fd for /proc/self/fd; anything beyond 0-2 and that is a leak.
  const fds = fs.readFileSync(path.join(out, 'fds'), 'utf8').split('\n').filter(Boolean).map(Number).sort((a, b) => a - b);
  t.same(fds.slice(0, 3), [0, 1, 2], 'stdio present');
  t.ok(fds.length <= 4, `no inherited descriptors (saw ${fds.join(' ')})`);
});

// "While creating the container (step 2 in the lifecycle), runtimes MUST
// create the following symlinks if the source file exists after processing
// mounts: /dev/fd -> /proc/self/fd, /dev/stdin -> /proc/self/fd/0,
// /dev/stdout -> /proc/self/fd/1, /dev/stderr -> /proc/self/fd/2"
requirement(t, { id: 'linux.dev-symlinks', section: 'runtime-linux.md#dev-symbolic-links', level: 'MUST', title: '/dev/fd, /dev/stdin, /dev/stdout, /dev/stderr are symlinks into /proc/self/fd' }, async (t) => {
  const r = await rt.runScript('for l in fd stdin stdout stderr; do echo "$l $(readlink /dev/$l)"; done');
  t.equal(r.exitCode, 0, r.stderr);
  t.same(r.stdout.trim().split('\n'), ['fd /proc/self/fd', 'stdin /proc/self/fd/0', 'stdout /proc/self/fd/1', 'stderr /proc/self/fd/2']);
});
