import t from 'tap';
import { TsruncError } from '../src/errors.js';
t.test('errors', async (t) => {
  t.equal(new TsruncError('x').exitCode, 1);
});
