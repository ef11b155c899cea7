// The LSM properties: process.apparmorProfile, process.selinuxLabel (config.md
// Linux process) and linux.mountLabel (config-linux.md). Each needs its LSM
// active on the host; without it the check is skipped with that reason.
import * as fs from 'node:fs';
import t from 'tap';
import { Runtime, requirement, skipReq } from '../lib/harness.js';

const rt = new Runtime(t);
const selinux = () => fs.existsSync('/sys/fs/selinux/enforce');
const selinuxReason = 'SELinux is not enabled on this host (no /sys/fs/selinux)';

// "apparmorProfile (string, OPTIONAL) specifies the name of the AppArmor
// profile for the process." -- the process runs confined by it.
requirement(t, { id: 'process.apparmorProfile', section: 'config.md#linux-process', level: 'MUST', title: 'the process runs under apparmorProfile' }, async (t) => {
  const profiles = '/sys/kernel/security/apparmor/profiles';
  if (!fs.existsSync(profiles)) return skipReq(t, 'AppArmor is not enabled on this host (no /sys/kernel/security/apparmor)');
  const profile = fs.readFileSync(profiles, 'utf8').split('\n').map((l) => l.replace(/ \(\w+\)$/, '')).find(Boolean);
  if (!profile) return skipReq(t, 'AppArmor has no profile loaded');
  const r = await rt.runScript('cat /proc/self/attr/current', (c) => (c.process.apparmorProfile = profile));
  t.equal(r.exitCode, 0, r.stderr.trim());
  t.match(r.stdout, new RegExp(`^${profile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(`), `confined by ${profile}`);
});

// "selinuxLabel (string, OPTIONAL) specifies the SELinux label for the process."
requirement(t, { id: 'process.selinuxLabel', section: 'config.md#linux-process', level: 'MUST', title: 'the process runs with selinuxLabel' }, async (t) => {
  if (!selinux()) return skipReq(t, selinuxReason);
  const label = 'system_u:system_r:container_t:s0:c1,c2';
  const r = await rt.runScript('cat /proc/self/attr/current', (c) => (c.process.selinuxLabel = label));
  t.equal(r.exitCode, 0, r.stderr.trim());
  t.equal(r.stdout.replace(/\0/g, '').trim(), label);
});

// "mountLabel (string, OPTIONAL) will set the Selinux context for the mounts
// in the container." -- a tmpfs mount carries it as its context.
requirement(t, { id: 'linux.mountLabel', section: 'config-linux.md#mount-label', level: 'MUST', title: 'mounts carry the mountLabel context' }, async (t) => {
  if (!selinux()) return skipReq(t, selinuxReason);
  const label = 'system_u:object_r:container_file_t:s0:c1,c2';
  const r = await rt.runScript('grep " /tmp " /proc/self/mountinfo', (c) => {
    c.linux.mountLabel = label;
    c.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
  });
  t.equal(r.exitCode, 0, r.stderr.trim());
  t.match(r.stdout, `context="${label}"`);
});
