// `tsrunc features`: the runtime-spec features document, indented like runc's.
import { featuresDocument } from '../../features/document.js';
import { out } from '../output.js';

export function featuresCommand(): void {
  out(`${JSON.stringify(featuresDocument(), null, 4)}\n`);
}
