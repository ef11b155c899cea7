// create, start, run, kill, delete: registered by the lifecycle work (issue 3).
import type { Command } from 'commander';
import type { GlobalOptions } from '../context.js';

export function registerLifecycle(_program: Command, _globals: () => GlobalOptions): void {}
