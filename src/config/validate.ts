// Validation of the documents tsrunc reads and writes: the precompiled schema
// validators (src/generated/validators.cjs, no ajv at run time) plus the
// semantic checks. Every function returns all problems, one line each.
import { createRequire } from 'node:module';
import type { Validator } from '../generated/validators.cjs';
import { formatSchemaErrors } from './schema-errors.js';
import { semanticErrors, processSemanticErrors, type SemanticOptions } from './semantic.js';

type Validators = typeof import('../generated/validators.cjs');
let loaded: Validators | undefined;

/**
 * The validators are ~250 KB of code only create and run need: bundled, they
 * are the sibling file dist/validators.cjs (scripts/build.mjs), required on
 * first use; from source, the generated file.
 */
function validators(): Validators {
  if (loaded) return loaded;
  const bundled = typeof __filename === 'string' && __filename.endsWith('.cjs');
  const req = createRequire(bundled ? __filename : import.meta.url);
  loaded = req(bundled ? './validators.cjs' : '../generated/validators.cjs') as Validators;
  return loaded;
}

function schemaErrors(v: Validator, doc: unknown): string[] {
  return v(doc) ? [] : formatSchemaErrors(v.errors);
}

function merge(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])];
}

/**
 * Problems of a config.json document. `forCreate` adds what creating needs
 * (process, root and the rootfs directory, resolved against `bundle`).
 */
export function validateConfig(doc: unknown, opts: SemanticOptions): string[] {
  return merge(schemaErrors(validators().config, doc), semanticErrors(doc, opts));
}

/** Problems of a process document (`exec --process FILE`); paths are relative to the process object. */
export function validateProcess(doc: unknown): string[] {
  return merge(schemaErrors(validators().process, doc), processSemanticErrors(doc));
}

/** Problems of a state document (what `state` prints). */
export function validateState(doc: unknown): string[] {
  const errors = schemaErrors(validators().state, doc);
  const st = doc as { id?: unknown; status?: unknown; pid?: unknown } | null;
  // Checked here, not with minLength, so the generated code needs no ajv helper.
  if (st && typeof st === 'object' && st.id === '') errors.push('/id: must not be empty');
  if (st && typeof st === 'object' && (st.status === 'created' || st.status === 'running') && st.pid === undefined) {
    errors.push(`/pid: required while status is ${JSON.stringify(st.status)}`);
  }
  return errors;
}

/** Problems of a features document (what `features` prints). */
export function validateFeatures(doc: unknown): string[] {
  return schemaErrors(validators().features, doc);
}
