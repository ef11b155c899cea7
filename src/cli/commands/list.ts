// `tsrunc list`: runc's table (tabwriter minwidth 12, padding 3) or JSON array.
import { TsruncError } from '../../errors.js';
import { openStore } from '../../state/store.js';
import { stateView, type StateView } from '../../state/view.js';
import type { GlobalOptions } from '../context.js';
import { errorMessage, log } from '../log.js';
import { out } from '../output.js';

export interface ListOptions {
  format?: string;
  quiet?: boolean;
}

/** Go's text/tabwriter with minwidth 12, tabwidth 1, padding 3, ' ' padding, no flags. */
export function tabulate(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    // The last cell of a row is not tab-terminated, so it does not set a column width.
    row.slice(0, -1).forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, Math.max(12, cell.length + 3));
    });
  }
  return rows.map((row) => row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i]!) : cell)).join('') + '\n').join('');
}

export function listCommand(globals: GlobalOptions, opts: ListOptions): void {
  const format = opts.format ?? 'table';
  if (format !== 'table' && format !== 'json') throw new TsruncError(`invalid format option: ${format}`);
  const records = openStore(globals.root).list((id, e) => log.warn(`skipping container ${id}: ${errorMessage(e)}`));
  const views: StateView[] = records.map(stateView);
  if (opts.quiet) {
    out(views.map((v) => `${v.id}\n`).join(''));
    return;
  }
  if (format === 'json') {
    out(`${JSON.stringify(views)}\n`);
    return;
  }
  const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER']];
  for (const v of views) rows.push([v.id, String(v.pid), v.status, v.bundle, v.created, v.owner]);
  out(tabulate(rows));
}
