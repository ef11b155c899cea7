// runc-style logging. Clients read the --log file: containerd shows its last
// error line, podman parses a json-format file as one object, so a failure
// appends exactly one line there. stderr always gets one `tsrunc: <msg>` line.
import { appendFileSync } from 'node:fs';
import { TsruncError } from '../errors.js';
import type { LogFormat } from './context.js';
import { err } from './output.js';

export type Level = 'debug' | 'info' | 'warning' | 'error';

interface LogConfig {
  file?: string;
  format: LogFormat;
  debug: boolean;
}

let config: LogConfig = { format: 'text', debug: false };

export function configureLog(cfg: { file?: string; format?: LogFormat; debug?: boolean }): void {
  config = { file: cfg.file || undefined, format: cfg.format ?? 'text', debug: cfg.debug ?? false };
}

/** RFC 3339 in UTC, seconds precision like logrus' default. */
export function rfc3339(d: Date = new Date()): string {
  return d.toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Any thrown value as one line of text. */
export function errorMessage(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}

/** One log record in the configured format, newline-terminated. */
export function formatLine(level: Level, msg: string, format: LogFormat = config.format, time: Date = new Date()): string {
  if (format === 'json') return `${JSON.stringify({ level, msg, time: rfc3339(time) })}\n`;
  return `time="${rfc3339(time)}" level=${level} msg=${JSON.stringify(msg)}\n`;
}

function emit(level: Level, msg: string): void {
  const line = formatLine(level, msg);
  if (config.file) {
    try {
      appendFileSync(config.file, line, { mode: 0o644 });
      return;
    } catch {
      // An unwritable log file must not hide the message: fall through to stderr.
    }
  }
  err(line);
}

export const log = {
  debug(msg: string): void {
    if (config.debug) emit('debug', msg);
  },
  info(msg: string): void {
    if (config.debug) emit('info', msg);
  },
  warn(msg: string): void {
    emit('warning', msg);
  },
  /** A non-fatal error; for the failure that ends the command use fatal(). */
  error(msg: string): void {
    emit('error', msg);
  },
  get debugEnabled(): boolean {
    return config.debug;
  },
};

/**
 * Ends the process for a failure: one `tsrunc: <msg>` line on stderr, one
 * error record in the log file (if any), exit status from the error (1 by default).
 */
export function fatal(e: unknown): never {
  const msg = errorMessage(e);
  // A TsruncError is an expected, worded failure; anything else is a bug worth its stack.
  if (config.debug && e instanceof Error && !(e instanceof TsruncError) && e.stack) emit('debug', e.stack.replace(/\n\s*/g, ' | '));
  if (config.file) {
    try {
      appendFileSync(config.file, formatLine('error', msg), { mode: 0o644 });
    } catch {
      // stderr below still carries the message.
    }
  }
  err(`tsrunc: ${msg}\n`);
  const code = e instanceof TsruncError ? e.exitCode : 1;
  process.exit(code > 0 && code < 256 ? code : 1);
}
