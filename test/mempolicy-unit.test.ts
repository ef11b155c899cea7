// linux.memoryPolicy without a container: the node-list parser, the plan
// (set_mempolicy's numbers) and what init calls, against the recording Sys.
import t from 'tap';
import { applyMemoryPolicy, onlineNodes, parseNodeList, planMemoryPolicy } from '../src/process/mempolicy.js';
import { RecordingSys } from '../src/sys/recording.js';

t.test('node lists', async (t) => {
  t.same(parseNodeList('0-3,7'), [0, 1, 2, 3, 7]);
  t.same(parseNodeList('7,0-1, 1'), [0, 1, 7], 'sorted, duplicates once, spaces around entries');
  t.same(parseNodeList(''), []);
  t.same(parseNodeList('5'), [5]);
  t.throws(() => parseNodeList('3-1'), /^linux\.memoryPolicy\.nodes: invalid range "3-1"/);
  t.throws(() => parseNodeList('0,,1'), /^linux\.memoryPolicy\.nodes: invalid node list "0,,1"/);
  t.throws(() => parseNodeList('a'), /invalid node list "a"/);
  t.throws(() => parseNodeList('-1'), /invalid node list "-1"/);
  t.throws(() => parseNodeList('40000'), /node 40000 is beyond what the kernel accepts/);
});

t.test('plan: mode | flags, nodes; nodes the host lacks are refused', async (t) => {
  t.same(planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '0' }, [0]), { mode: 2, nodes: [0], text: 'mode MPOL_BIND, nodes "0"' });
  t.equal(planMemoryPolicy({ mode: 'MPOL_INTERLEAVE', nodes: '0', flags: ['MPOL_F_STATIC_NODES'] }, [0]).mode, 3 | (1 << 15));
  t.equal(planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_NUMA_BALANCING'] }, [0]).mode, 2 | (1 << 13));
  t.equal(planMemoryPolicy({ mode: 'MPOL_PREFERRED', nodes: '0', flags: ['MPOL_F_RELATIVE_NODES'] }, [0]).mode, 1 | (1 << 14));
  t.same(planMemoryPolicy({ mode: 'MPOL_LOCAL' }, [0]), { mode: 4, nodes: [], text: 'mode MPOL_LOCAL' });
  t.equal(planMemoryPolicy({ mode: 'MPOL_DEFAULT' }).mode, 0);
  t.equal(planMemoryPolicy({ mode: 'MPOL_PREFERRED_MANY', nodes: '0' }).mode, 5);
  t.equal(planMemoryPolicy({ mode: 'MPOL_WEIGHTED_INTERLEAVE', nodes: '0' }).mode, 6);
  t.throws(() => planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '0,5' }, [0]), /^linux\.memoryPolicy\.nodes: node 5 not online on this host \(online: 0\)$/);
  t.throws(() => planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '4-5' }, [0, 1]), /nodes 4,5 not online/);
  // Relative and static masks are not host node ids: the kernel judges them.
  t.same(planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '5', flags: ['MPOL_F_RELATIVE_NODES'] }, [0]).nodes, [5]);
  t.same(planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '5', flags: ['MPOL_F_STATIC_NODES'] }, [0]).nodes, [5]);
  t.same(planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '5' }).nodes, [5], 'no NUMA information: left to the kernel');
  t.throws(() => planMemoryPolicy({ mode: 'MPOL_FANCY' as never, nodes: '0' }), /^linux\.memoryPolicy\.mode: unknown mode "MPOL_FANCY"/);
  t.throws(() => planMemoryPolicy({ mode: 'MPOL_BIND', nodes: '0', flags: ['MPOL_F_STATIC_NODES', 'MPOL_F_FAST' as never] }), /^linux\.memoryPolicy\.flags\[1\]: unknown flag "MPOL_F_FAST"/);
});

t.test('online nodes from sysfs', async (t) => {
  t.same(onlineNodes(() => '0-1,4\n'), [0, 1, 4]);
  t.equal(onlineNodes(() => { throw new Error('ENOENT'); }), undefined, 'no NUMA in the kernel');
});

t.test('init: one set_mempolicy; a refusal names the field and the config', async (t) => {
  const s = new RecordingSys();
  applyMemoryPolicy(s, planMemoryPolicy({ mode: 'MPOL_INTERLEAVE', nodes: '0-1', flags: ['MPOL_F_STATIC_NODES'] }));
  t.same(s.calls, [{ name: 'setMempolicy', args: [3 | (1 << 15), [0, 1]] }]);
  s.setMempolicy = () => {
    throw new Error('set_mempolicy: invalid argument');
  };
  t.throws(
    () => applyMemoryPolicy(s, planMemoryPolicy({ mode: 'MPOL_INTERLEAVE', nodes: '0', flags: ['MPOL_F_NUMA_BALANCING'] })),
    /^linux\.memoryPolicy: the kernel refused mode MPOL_INTERLEAVE, nodes "0", flags MPOL_F_NUMA_BALANCING: set_mempolicy: invalid argument$/,
  );
});
