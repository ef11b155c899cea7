// `tsrunc state <id>`: the container's state as pretty JSON (runc's layout).
import { openStore } from '../../state/store.js';
import { stateView } from '../../state/view.js';
import type { GlobalOptions } from '../context.js';
import { out } from '../output.js';

export function stateCommand(globals: GlobalOptions, id: string): void {
  const record = openStore(globals.root).read(id);
  out(`${JSON.stringify(stateView(record), null, 2)}\n`);
}
