// `tsrunc --version`: runc's line layout. The libseccomp version comes from
// the soname link (no dlopen) so this stays at node's startup cost.
import { libseccompVersion } from '../../features/libseccomp.js';
import { TSRUNC_VERSION } from '../../features/version.js';
import { SPEC_VERSION } from '../../spec/default.js';

export function versionText(): string {
  return [
    `tsrunc version ${TSRUNC_VERSION}`,
    `spec: ${SPEC_VERSION}`,
    `node: ${process.version}`,
    `libseccomp: ${libseccompVersion() ?? 'not found'}`,
  ].join('\n') + '\n';
}
