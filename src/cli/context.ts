// Global flags, parsed once by the CLI and handed to every command.
export type LogFormat = 'text' | 'json';

export interface GlobalOptions {
  /** State directory: /run/tsrunc for root, $XDG_RUNTIME_DIR/tsrunc otherwise. */
  root: string;
  log?: string;
  logFormat: LogFormat;
  debug: boolean;
  systemdCgroup: boolean;
  rootless: string;
}
