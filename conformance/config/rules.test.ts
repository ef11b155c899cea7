// config.md's rules for the document as a whole (extensibility, valid values,
// annotations), and the uts rules of hostname.
import * as fs from 'node:fs';
import * as os from 'node:os';
import t from 'tap';
import { Runtime, requirement, newId } from '../lib/harness.js';

const rt = new Runtime(t);

// "Runtimes MAY log unknown properties but MUST otherwise ignore them. That
// includes not generating errors if they encounter an unknown property." /
// (Annotations) "Runtimes MUST handle unknown annotation keys like any other
// unknown property."
requirement(t, { id: 'config.extensibility', section: 'config.md#extensibility', level: 'MUST', title: 'unknown properties and annotation keys are ignored, not errors' }, async (t) => {
  const r = await rt.runScript('echo ran', (c) => {
    c['org.example.tsrConformance'] = { nested: [1, 2] };
    c.process['org.example.unknown'] = true;
    c.process.user['org.example.unknown'] = 'x';
    c.root['org.example.unknown'] = 1;
    c.linux['org.example.unknown'] = { a: 'b' };
    c.linux.resources['org.example.unknown'] = {};
    c.mounts[0]['org.example.unknown'] = 'x';
    c.annotations = { 'org.example.tsr.unknown-key': 'v', 'com.example.empty': '' };
  });
  t.equal(r.exitCode, 0, r.stderr.trim());
  t.equal(r.stdout.trim(), 'ran');
});

// "Runtimes MUST generate an error when invalid or unsupported values are
// encountered."
requirement(t, { id: 'config.valid-values', section: 'config.md#valid-values', level: 'MUST', title: 'invalid values (a namespace type, a rootfsPropagation, a seccomp action) are errors' }, async (t) => {
  const cases: [string, (c: Record<string, any>) => void][] = [
    ['linux.namespaces[].type "tsr-bogus"', (c) => c.linux.namespaces.push({ type: 'tsr-bogus' })],
    ['linux.rootfsPropagation "sideways"', (c) => (c.linux.rootfsPropagation = 'sideways')],
    ['linux.seccomp.defaultAction "SCMP_ACT_TSR_BOGUS"', (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_TSR_BOGUS' })],
  ];
  for (const [what, edit] of cases) {
    const id = newId();
    const { bundle } = rt.outBundle('true', edit);
    t.not((await rt.create(id, bundle)).exitCode, 0, `${what}: create fails`);
    t.equal(await rt.state(id), undefined, `${what}: no container exists`);
  }
});

// config.md hostname: "On Linux, for example, this will change the hostname
// in the container UTS namespace. Depending on your namespace configuration,
// the container UTS namespace may be the runtime UTS namespace." runc (and
// crun, youki) refuse a hostname without a new UTS namespace rather than
// renaming the host; the spec only allows it, so this is a SHOULD. The host's
// name must survive in any case.
requirement(t, { id: 'hostname.no-uts', section: 'config.md#hostname', level: 'SHOULD', title: 'a hostname without a new uts namespace is refused; the host keeps its name' }, async (t) => {
  const before = os.hostname();
  const id = newId();
  const { bundle } = rt.outBundle('true', (c) => {
    c.hostname = 'tsr-conf-not-the-host';
    c.linux.namespaces = c.linux.namespaces.filter((n: any) => n.type !== 'uts');
  });
  const r = await rt.create(id, bundle);
  const after = fs.readFileSync('/proc/sys/kernel/hostname', 'utf8').trim();
  if (after !== before) fs.writeFileSync('/proc/sys/kernel/hostname', before);
  t.equal(after, before, 'the host\'s hostname is unchanged');
  t.not(r.exitCode, 0, 'create fails');
  t.equal(await rt.state(id), undefined, 'no container exists');
});

// config.md capabilities: "Any value which cannot be mapped to a relevant
// kernel interface, or cannot be granted otherwise MUST be logged as a
// warning by the runtime." runtime.md warnings: "logging a warning does not
// change the flow of the operation; it MUST continue as if the warning had not
// been logged."
requirement(t, { id: 'process.capabilities.unknown.warning', section: 'config.md#linux-process', level: 'MUST', title: 'an unknown capability is named in a warning and the container still runs' }, async (t) => {
  const r = await rt.runScript('echo ran', (c) => c.process.capabilities.bounding.push('CAP_TSR_DOES_NOT_EXIST'));
  t.match(r.stderr + r.stdout, /CAP_TSR_DOES_NOT_EXIST/, 'the runtime names the capability');
  t.equal(r.exitCode, 0, 'the container ran (the operation continued)');
  t.match(r.stdout, /^ran$/m);
});
