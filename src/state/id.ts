import { TsruncError } from '../errors.js';

// runc's rule (letters, digits, _ + - .; not "." or ".."), plus NAME_MAX:
// the id is a directory name under the state root.
const ID_RE = /^[\w+\-.]+$/;
export const MAX_ID_LENGTH = 255;

export function validateId(id: string): void {
  if (typeof id !== 'string' || id === '') throw new TsruncError('invalid container id: id must not be empty');
  if (id.length > MAX_ID_LENGTH) {
    throw new TsruncError(`invalid container id "${id.slice(0, 32)}...": longer than ${MAX_ID_LENGTH} characters`);
  }
  if (!ID_RE.test(id) || id === '.' || id === '..') {
    throw new TsruncError(
      `invalid container id ${JSON.stringify(id)}: only letters, digits, "_", "+", "-" and "." are allowed, and not "." or ".."`,
    );
  }
}
