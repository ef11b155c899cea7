// The container lifecycle with a cgroup v2 host, in the QEMU guest (one boot
// for every check): limits read back from the v2 files, the 4 MiB /
// pids.max 1 case through create -> start, the cgroup namespace view,
// pause/resume, an OOM kill, and that delete leaves no cgroup. Bundles are
// made here and copied into the guest's /run (its /tmp is a fresh tmpfs);
// the guest runs bin/tsrunc from this tree and reports one line per check.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeBundle } from './helpers/bundle.js';
import { TSRUNC_BIN } from './helpers/run.js';
import { exposeToGuest, runInVm, vmUnavailable } from './helpers/vm.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIR = path.join(ROOT, `build/tsr-test-cg2l-${process.pid}`);

const MiB = 1024 * 1024;
const BUNDLES: Record<string, { args: string[]; edit?: (c: Record<string, any>) => void }> = {
  limits: {
    args: ['sleep', '100'],
    edit: (c) => {
      c.linux.cgroupsPath = '/tsr-test-v2l/limits';
      Object.assign(c.linux.resources, { memory: { limit: 64 * MiB }, pids: { limit: 40 }, cpu: { quota: 50000, period: 100000, shares: 1024 } });
    },
  },
  tiny: {
    args: ['/bin/echo', 'hello from 4 MiB'],
    edit: (c) => Object.assign(c.linux.resources, { memory: { limit: 4 * MiB }, pids: { limit: 1 } }),
  },
  tinytrue: {
    args: ['/bin/true'],
    edit: (c) => Object.assign(c.linux.resources, { memory: { limit: 4 * MiB }, pids: { limit: 1 } }),
  },
  ns: {
    args: ['sh', '-c', 'cat /proc/self/cgroup; echo pids=$(cat /sys/fs/cgroup/pids.max); touch /sys/fs/cgroup/x 2>/dev/null && echo writable || echo readonly'],
    edit: (c) => Object.assign(c.linux.resources, { pids: { limit: 77 } }),
  },
  // appends: a read never catches the file truncated (a paused writer may stop anywhere)
  counter: { args: ['sh', '-c', 'while true; do echo x >> /dev/shm/count; done'] },
  oom: {
    args: ['sh', '-c', 'tail /dev/zero'],
    edit: (c) => Object.assign(c.linux.resources, { memory: { limit: 16 * MiB, swap: 16 * MiB } }),
  },
};

// Runs in the guest with sh: one "pass|fail|skip<TAB>name<TAB>detail" line per check.
const GUEST = String.raw`
set -u
X="${TSRUNC_BIN}"
R=/run/tsr-test-v2l-root
OUT=/tmp/qvout/results.txt
: > $OUT
res() { printf '%s\t%s\t%s\n' "$1" "$2" "$(echo "$3" | tr '\n\t' '  ' | cut -c1-300)" >> $OUT; }
check() { if [ "$2" = "$3" ]; then res pass "$1" "$2"; else res fail "$1" "got [$2] want [$3]"; fi; }
t() { $X --root $R "$@"; }
mkdir -p $R /run/b
cp -a ${DIR}/. /run/b/
CG=/sys/fs/cgroup

# limits at create, read back, then start and delete
t create --bundle /run/b/limits limits > /run/limits.out 2>&1; check 'create with limits' "$?" 0
D=$CG/tsr-test-v2l/limits
check 'memory.max' "$(cat $D/memory.max 2>&1)" ${64 * MiB}
check 'pids.max' "$(cat $D/pids.max 2>&1)" 40
check 'cpu.max' "$(cat $D/cpu.max 2>&1)" '50000 100000'
check 'cpu.weight (shares 1024)' "$(cat $D/cpu.weight 2>&1)" 39
PID=$(t state limits | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
grep -qx "$PID" $D/cgroup.procs; check 'init is in the cgroup' "$?" 0
t start limits; check 'start' "$?" 0
check 'state running' "$(t state limits | grep -c '"running"')" 1
t ps -f json limits | grep -q "$PID"; check 'ps -f json lists the init' "$?" 0
t update --memory 80M limits; check 'update' "$?" 0
check 'update reached memory.max' "$(cat $D/memory.max 2>&1)" ${80 * MiB}
t delete --force limits; check 'delete --force' "$?" 0
test -e $D; check 'delete removed the cgroup' "$?" 1

# the runtime is not charged: 4 MiB, pids.max 1
t create --bundle /run/b/tiny tiny > /run/tiny.out 2>&1; check 'create 4 MiB / pids 1' "$?" 0
TD=$(ls -d $CG/tiny 2>/dev/null || ls -d $CG/*/tiny 2>/dev/null)
check 'tiny: pids.max' "$(cat $TD/pids.max 2>&1)" 1
check 'tiny: memory.max' "$(cat $TD/memory.max 2>&1)" ${4 * MiB}
res pass 'tiny: charged while created (info)' "memory.current=$(cat $TD/memory.current) pids.current=$(cat $TD/pids.current)"
t start tiny; check 'start 4 MiB / pids 1' "$?" 0
sleep 1
check 'the program ran' "$(cat /run/tiny.out)" 'hello from 4 MiB'
check 'no oom in memory.events' "$(grep '^oom_kill ' $TD/memory.events)" 'oom_kill 0'
check 'pids.max never hit' "$(grep '^max ' $TD/pids.events)" 'max 0'
t delete tiny; check 'delete tiny' "$?" 0
test -e $TD; check 'delete removed tiny cgroup' "$?" 1
t run --bundle /run/b/tinytrue tinytrue; check 'run /bin/true with 4 MiB / pids 1' "$?" 0

# cgroup namespace view
O=$(t run --bundle /run/b/ns ns 2>&1); check 'run ns' "$?" 0
check 'cgroupns: /proc/self/cgroup is 0::/' "$(echo "$O" | grep '^0::')" '0::/'
check 'cgroupns: the mount is the container cgroup' "$(echo "$O" | grep '^pids=')" 'pids=77'
check 'cgroupns: mount read-only' "$(echo "$O" | grep -c '^readonly')" 1

# pause / resume
t run -d --bundle /run/b/counter counter > /run/counter.out 2>&1; check 'run -d counter' "$?" 0
CD=$(ls -d $CG/counter)
CP=$(t state counter | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')
sleep 1
t pause counter; check 'pause' "$?" 0
check 'state paused' "$(t state counter | grep -c '"paused"')" 1
check 'cgroup.events frozen' "$(grep '^frozen' $CD/cgroup.events)" 'frozen 1'
size() { wc -c < /proc/$CP/root/dev/shm/count; }
sleep 0.5; A=$(size); sleep 1; B=$(size)
check 'the counter stopped' "$B" "$A"
[ "$A" -gt 0 ]; check "the counter had run ($A bytes)" "$?" 0
t start counter 2>/dev/null; check 'start of a paused container refused' "$?" 1
t resume counter; check 'resume' "$?" 0
sleep 1; C=$(size)
[ "$C" -gt "$B" ]; check "the counter goes on ($B -> $C)" "$?" 0
t pause counter
t delete --force counter; check 'delete --force of a paused container' "$?" 0
test -e /proc/$CP; check 'its process is gone' "$?" 1
test -e $CD; check 'its cgroup is gone' "$?" 1

# OOM kill
t run --bundle /run/b/oom oom; check 'memory hog OOM-killed: exit 137' "$?" 137

# as runc, delete removes the container's cgroup, not the parents an absolute cgroupsPath named
rmdir $CG/tsr-test-v2l
check 'no test cgroup left' "$(ls $CG | grep -e tsr-test -e '^limits$' -e '^tiny' -e '^ns$' -e '^counter$' -e '^oom$')" ''
check 'no state dir left' "$(ls $R | wc -l)" 0
`;

t.setTimeout(600_000);
const why = vmUnavailable();
if (why) {
  t.plan(0, `cgroup v2 VM unavailable: ${why}`);
} else {
  fs.mkdirSync(DIR, { recursive: true });
  t.teardown(() => fs.rmSync(DIR, { recursive: true, force: true }));
  for (const [name, { args, edit }] of Object.entries(BUNDLES)) {
    const b = makeBundle(edit, args);
    fs.cpSync(b.dir, path.join(DIR, name), { recursive: true, verbatimSymlinks: true });
    b.remove();
  }
  const script = path.join(DIR, 'guest.sh');
  const view = exposeToGuest(ROOT);
  t.teardown(view.release);
  // The launcher's shebang names the host path of node: through a view, run the bundle with node directly.
  const seenBin = view.root === ROOT ? TSRUNC_BIN : `${view.map(path.join(ROOT, 'node_modules/node/bin/node'))} ${view.map(path.join(ROOT, 'dist/tsrunc.cjs'))}`;
  fs.writeFileSync(script, GUEST.replace(`X="${TSRUNC_BIN}"`, `X="${seenBin}"`).replaceAll(DIR, view.map(DIR)));
  const run = await runInVm(`sh ${view.map(script)} > /tmp/qvout/guest.log 2>&1`, { timeoutSec: 400 });
  t.teardown(() => fs.rmSync(run.outDir, { recursive: true, force: true }));
  const resFile = path.join(run.outDir, 'results.txt');
  const log = (): string => (fs.existsSync(path.join(run.outDir, 'guest.log')) ? fs.readFileSync(path.join(run.outDir, 'guest.log'), 'utf8').slice(-3000) : '');
  if (!fs.existsSync(resFile)) {
    t.fail(`guest produced no results (qv-run exit ${run.code}): ${run.console.slice(-2000)} ${log()}`);
  } else {
    const lines = fs.readFileSync(resFile, 'utf8').split('\n').filter(Boolean).map((l) => l.split('\t'));
    t.ok(lines.length >= 40, `${lines.length} guest checks reported (guest log: ${log().slice(-500)})`);
    for (const [status, name, detail] of lines) {
      if (status === 'skip') t.pass(name!, { skip: detail });
      else t.ok(status === 'pass', name!, { detail, guestLog: status === 'pass' ? undefined : log() });
    }
  }
}
