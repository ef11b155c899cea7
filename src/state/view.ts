// The public view of a record, as `state` and `list -f json` print it:
// runtime-spec state fields plus runc's extras, in runc's field order.
import { liveStatus } from './status.js';
import type { ContainerRecord, Status } from './types.js';

export interface StateView {
  ociVersion: string;
  id: string;
  pid: number;
  status: Status;
  bundle: string;
  rootfs: string;
  created: string;
  annotations?: Record<string, string>;
  owner: string;
}

export function stateView(record: ContainerRecord): StateView {
  const status = liveStatus(record);
  const view: StateView = {
    ociVersion: record.ociVersion,
    id: record.id,
    // runc reports no pid for a stopped container: the old one may be anyone's now.
    pid: status === 'stopped' ? 0 : record.pid,
    status,
    bundle: record.bundle,
    rootfs: record.rootfs,
    created: record.created,
    owner: record.owner ?? '',
  };
  if (record.annotations && Object.keys(record.annotations).length > 0) {
    const { owner, ...rest } = view;
    return { ...rest, annotations: record.annotations, owner };
  }
  return view;
}
