// config-linux.md "Default Filesystems" and "Devices" beyond linux.test.ts:
// what the container's /dev and mount table hold, and device-path conflicts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { Runtime, requirement, newId, exists } from '../lib/harness.js';

const rt = new Runtime(t);

// "The following filesystems SHOULD be made available in each container's
// filesystem: /proc proc, /sys sysfs, /dev/pts devpts, /dev/shm tmpfs" -- with
// the mounts `runc spec` writes.
requirement(t, { id: 'default-filesystems', section: 'config-linux.md#default-filesystems', level: 'SHOULD', title: '/proc, /sys, /dev/pts and /dev/shm are proc, sysfs, devpts and tmpfs' }, async (t) => {
  const r = await rt.runScript('cat /proc/self/mountinfo');
  t.equal(r.exitCode, 0, r.stderr.trim());
  const fstype = (dest: string) => r.stdout.split('\n').find((l) => l.split(' ')[4] === dest)?.split(' - ')[1]?.split(' ')[0];
  for (const [dest, type] of [['/proc', 'proc'], ['/sys', 'sysfs'], ['/dev/pts', 'devpts'], ['/dev/shm', 'tmpfs']]) {
    t.equal(fstype(dest!), type, `${dest} is ${type}`);
  }
});

// Default devices: "/dev/ptmx. A bind-mount or symlink of the container's
// /dev/pts/ptmx."
requirement(t, { id: 'devices.default.ptmx', section: 'config-linux.md#default-devices', level: 'MUST', title: '/dev/ptmx is the container\'s /dev/pts/ptmx (bind mount or symlink)' }, async (t) => {
  const r = await rt.runScript('[ /dev/ptmx -ef /dev/pts/ptmx ] && echo same; stat -L -c "%d" /dev/ptmx /dev/pts/ptmx /dev/pts');
  t.equal(r.exitCode, 0, r.stderr.trim());
  t.match(r.stdout, /^same$/m, '/dev/ptmx and /dev/pts/ptmx are one file');
  const [ptmx, ptsPtmx, pts] = r.stdout.trim().split('\n').slice(-3);
  t.ok(ptmx === ptsPtmx && ptsPtmx === pts, `on the container's devpts (st_dev ${ptmx} ${ptsPtmx} ${pts})`);
});

// Devices: "path (string, REQUIRED) - full path to device inside container. If
// a file already exists at path that does not match the requested device, the
// runtime MUST generate an error."
requirement(t, { id: 'devices.existing-mismatch', section: 'config-linux.md#devices', level: 'MUST', title: 'a device path where a different file already exists is an error' }, async (t) => {
  const id = newId();
  const { bundle } = rt.outBundle('true', (c) => {
    c.linux.devices = [{ path: '/opt/conf-dev', type: 'c', major: 1, minor: 3, fileMode: 0o666 }];
  });
  fs.mkdirSync(path.join(bundle.rootfs, 'opt'), { recursive: true });
  fs.writeFileSync(path.join(bundle.rootfs, 'opt/conf-dev'), 'a regular file\n');
  t.not((await rt.create(id, bundle)).exitCode, 0, 'create fails');
  t.equal(await rt.state(id), undefined, 'no container exists');
  t.equal(fs.readFileSync(path.join(bundle.rootfs, 'opt/conf-dev'), 'utf8'), 'a regular file\n', 'the file is untouched');
});

// Devices: "The path MAY be anywhere in the container filesystem, notably
// outside of /dev." (and "devices ... lists devices that MUST be available")
requirement(t, { id: 'devices.outside-dev', section: 'config-linux.md#devices', level: 'MAY', title: 'a device outside /dev is made available' }, async (t) => {
  const r = await rt.runScript('stat -c "%F %t:%T" /opt/conf-null; echo x > /opt/conf-null && echo writable', (c) => {
    c.linux.devices = [{ path: '/opt/conf-null', type: 'c', major: 1, minor: 3, fileMode: 0o666 }];
  }, (b) => fs.mkdirSync(path.join(b.rootfs, 'opt'), { recursive: true }));
  t.equal(r.exitCode, 0, r.stderr.trim());
  t.match(r.stdout, /^character special file 1:3$/m);
  t.match(r.stdout, /^writable$/m);
  t.ok(!exists('/opt/conf-null'), 'nothing created on the host\'s /opt');
});
