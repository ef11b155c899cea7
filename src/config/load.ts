// Reads and validates <bundle>/config.json for create/run. Every failure is a
// one-line TsruncError naming the file and the field.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TsruncError } from '../errors.js';
import type { Spec } from './types.js';
import { validateConfig } from './validate.js';

export interface Bundle {
  spec: Spec;
  /** Absolute real path of the bundle directory. */
  bundle: string;
  /** Absolute real path of the root filesystem. */
  rootfs: string;
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function realDir(dir: string, what: string): string {
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch (err) {
    if (errno(err) === 'ENOENT') throw new TsruncError(`${what} ${JSON.stringify(dir)}: no such directory`, { cause: err });
    throw new TsruncError(`${what} ${JSON.stringify(dir)}: ${(err as Error).message}`, { cause: err });
  }
  if (!fs.statSync(real).isDirectory()) throw new TsruncError(`${what} ${JSON.stringify(dir)}: not a directory`);
  return real;
}

/** Whether JSON.parse fails on `prefix` only because the text stops early. */
function incomplete(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return true;
  } catch (err) {
    const msg = (err as Error).message;
    const at = /position (\d+)/.exec(msg);
    return /end of JSON input/.test(msg) || (at !== null && Number(at[1]) >= prefix.length);
  }
}

/**
 * V8 gives no position for some syntax errors ("Unexpected token '}', ...");
 * the offending character is the first one whose prefix cannot be completed.
 */
function errorOffset(text: string, err: Error): number {
  const at = /position (\d+)/.exec(err.message);
  if (at) return Number(at[1]);
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (incomplete(text.slice(0, mid))) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function describeJsonError(text: string, err: Error): string {
  const msg = err.message.replace(/\s*\n[\s\S]*$/, '');
  if (/line \d+ column \d+/.test(msg)) return msg;
  const pos = errorOffset(text, err);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - before.lastIndexOf('\n');
  return `${msg} at position ${pos} (line ${line} column ${col})`;
}

export function loadBundle(bundleDir: string, opts: { forCreate: boolean }): Bundle {
  const bundle = realDir(path.resolve(bundleDir), 'bundle');
  const configPath = path.join(bundle, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(configPath, 'utf8');
  } catch (err) {
    if (errno(err) === 'ENOENT') throw new TsruncError(`${configPath}: no such file (a bundle needs a config.json)`, { cause: err });
    throw new TsruncError(`${configPath}: ${(err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new TsruncError(`config.json: invalid JSON: ${describeJsonError(text, err as Error)}`, { cause: err });
  }
  const problems = validateConfig(doc, { forCreate: opts.forCreate, bundle });
  if (problems.length > 0) throw new TsruncError(`config.json: ${problems.join('; ')}`);
  const spec = doc as Spec;
  const rootPath = spec.root?.path;
  const rootfs = rootPath === undefined ? '' : realDir(path.resolve(bundle, rootPath), 'rootfs');
  return { spec, bundle, rootfs };
}
