// config.md "Linux mount options" beyond config.test.ts's sample: the other
// MUST option strings, the propagation options, and idmap.
import * as fs from 'node:fs';
import * as path from 'node:path';
import t from 'tap';
import { Runtime, requirement, newId } from '../lib/harness.js';

const rt = new Runtime(t);
const OPTS = 'config.md#linux-mount-options';

/** mountinfo fields of the mount at `dest`: per-mount options, optional fields, super options. */
function mountinfo(out: string, dest: string) {
  const line = out.split('\n').find((l) => l.split(' ')[4] === dest) ?? '';
  const [pre = '', post = ''] = line.split(' - ');
  const f = pre.split(' ');
  return { found: !!line, opts: (f[5] ?? '').split(','), optional: f.slice(6), superOpts: (post.split(' ')[2] ?? '').split(',') };
}

// "Runtimes MUST/SHOULD/MAY implement the following option strings for
// Linux" -- the MUST ones whose effect is the kernel default, or that undo
// another: accepted (not errors, not passed on as unknown data) and, where
// they undo, the last one wins as in mount(8).
requirement(t, { id: 'mounts.options.defaults', section: OPTS, level: 'MUST', title: 'defaults, async, atime, diratime, dev, exec, suid, rw, loud, silent, iversion, nolazytime ... are accepted; the last of ro/rw wins' }, async (t) => {
  const accepted = ['defaults', 'async', 'atime', 'diratime', 'dev', 'exec', 'suid', 'loud', 'silent', 'iversion', 'noiversion', 'nolazytime', 'norelatime', 'nostrictatime', 'ro', 'rw'];
  const r = await rt.runScript('cat /proc/self/mountinfo; touch /m/x && echo writable', (c) => {
    c.mounts.push({ destination: '/m', type: 'tmpfs', source: 'tmpfs', options: ['noexec', 'nosuid', 'nodev', ...accepted] });
  }, (b) => fs.mkdirSync(path.join(b.rootfs, 'm')));
  t.equal(r.exitCode, 0, r.stderr.trim());
  const m = mountinfo(r.stdout, '/m');
  t.ok(m.found, '/m is mounted');
  for (const o of ['noexec', 'nosuid', 'nodev', 'ro']) t.notOk(m.opts.includes(o), `${o} undone (${m.opts.join(',')})`);
  t.match(r.stdout, /^writable$/m, 'rw after ro: writable');
  t.notOk(m.superOpts.some((o) => accepted.includes(o) && o !== 'rw'), `no option passed on as filesystem data (${m.superOpts.join(',')})`);
});

// The atime family (MUST): strictatime, relatime, nodiratime -- they show in
// the per-mount options (strictatime as neither relatime nor noatime) -- and
// lazytime, a superblock flag shown with the super options. These
// set flags and never clear each other (mount(8) too: noatime,relatime is
// noatime), so each mount gets one.
requirement(t, { id: 'mounts.options.atime', section: OPTS, level: 'MUST', title: 'strictatime, relatime, nodiratime and lazytime are applied' }, async (t) => {
  const r = await rt.runScript('cat /proc/self/mountinfo', (c) => {
    c.mounts.push({ destination: '/a', type: 'tmpfs', source: 'tmpfs', options: ['strictatime', 'nodiratime'] });
    c.mounts.push({ destination: '/b', type: 'tmpfs', source: 'tmpfs', options: ['relatime', 'lazytime'] });
  }, (b) => {
    fs.mkdirSync(path.join(b.rootfs, 'a'));
    fs.mkdirSync(path.join(b.rootfs, 'b'));
  });
  t.equal(r.exitCode, 0, r.stderr.trim());
  const a = mountinfo(r.stdout, '/a').opts;
  const b = mountinfo(r.stdout, '/b').opts;
  t.ok(!a.includes('relatime') && !a.includes('noatime'), `strictatime (${a.join(',')})`);
  t.ok(a.includes('nodiratime'), `nodiratime (${a.join(',')})`);
  t.ok(b.includes('relatime'), `relatime (${b.join(',')})`);
  const sb = mountinfo(r.stdout, '/b').superOpts;
  t.ok(sb.includes('lazytime'), `lazytime (${sb.join(',')})`);
});

// "nosymfollow | SHOULD" (kernel 5.10)
requirement(t, { id: 'mounts.options.nosymfollow', section: OPTS, level: 'SHOULD', title: 'nosymfollow is applied' }, async (t) => {
  const r = await rt.runScript('cat /proc/self/mountinfo', (c) => {
    c.mounts.push({ destination: '/n', type: 'tmpfs', source: 'tmpfs', options: ['nosymfollow'] });
  }, (b) => fs.mkdirSync(path.join(b.rootfs, 'n')));
  t.equal(r.exitCode, 0, r.stderr.trim());
  t.ok(mountinfo(r.stdout, '/n').opts.includes('nosymfollow'), 'nosymfollow in the mount options');
});

// "private, rprivate, shared, rshared, slave, rslave, unbindable, runbindable
// | MUST | Bind mount propagation": the mount's optional fields in mountinfo.
requirement(t, { id: 'mounts.options.propagation', section: OPTS, level: 'MUST', title: 'propagation options (rshared, runbindable, rprivate) set the mount\'s propagation' }, async (t) => {
  const src = rt.tmpdir('prop');
  const r = await rt.runScript('cat /proc/self/mountinfo', (c) => {
    c.mounts.push({ destination: '/shared', type: 'bind', source: src, options: ['rbind', 'rshared'] });
    c.mounts.push({ destination: '/unbindable', type: 'bind', source: src, options: ['rbind', 'runbindable'] });
    c.mounts.push({ destination: '/private', type: 'bind', source: src, options: ['rbind', 'rprivate'] });
  }, (b) => {
    for (const d of ['shared', 'unbindable', 'private']) fs.mkdirSync(path.join(b.rootfs, d));
  });
  t.equal(r.exitCode, 0, r.stderr.trim());
  const opt = (d: string) => mountinfo(r.stdout, d).optional;
  t.ok(opt('/shared').some((o) => o.startsWith('shared:')), `rshared: ${opt('/shared').join(' ')}`);
  t.ok(opt('/unbindable').includes('unbindable'), `runbindable: ${opt('/unbindable').join(' ')}`);
  t.same(opt('/private'), [], `rprivate: no propagation fields (${opt('/private').join(' ')})`);
});

// idmap: "If there are no uidMappings and gidMappings specified and the
// container isn't using user namespaces, an error MUST be returned."
requirement(t, { id: 'mounts.idmap.no-mapping', section: OPTS, level: 'MUST', title: 'an idmap mount with no mappings and no user namespace is an error' }, async (t) => {
  const src = rt.tmpdir('idmap');
  const id = newId();
  const { bundle } = rt.outBundle('true', (c) => c.mounts.push({ destination: '/idm', type: 'bind', source: src, options: ['rbind', 'idmap'] }));
  fs.mkdirSync(path.join(bundle.rootfs, 'idm'));
  t.not((await rt.create(id, bundle)).exitCode, 0, 'create fails');
  t.equal(await rt.state(id), undefined, 'no container exists');
});

// "idmap | SHOULD | Indicates that the mount MUST have an idmapping applied.
// ... If uidMappings or gidMappings are specified for the mount, the runtime
// MUST use those values for the mount's mapping." (mount_setattr
// MOUNT_ATTR_IDMAP): a file the host's root owns is seen through the mapping.
requirement(t, { id: 'mounts.idmap', section: OPTS, level: 'SHOULD', title: 'an idmap bind mount shows the source through its uid/gid mappings' }, async (t) => {
  const src = rt.tmpdir('idmap');
  fs.writeFileSync(path.join(src, 'file'), '');
  const map = [{ containerID: 0, hostID: 12345, size: 1 }];
  const r = await rt.runScript('stat -c "%u:%g" /idm/file', (c) => {
    c.mounts.push({ destination: '/idm', type: 'bind', source: src, options: ['rbind', 'idmap'], uidMappings: map, gidMappings: map });
  }, (b) => fs.mkdirSync(path.join(b.rootfs, 'idm')));
  t.equal(r.exitCode, 0, r.stderr.trim());
  t.equal(r.stdout.trim(), '12345:12345', 'on-disk 0:0 appears as 12345:12345');
});
