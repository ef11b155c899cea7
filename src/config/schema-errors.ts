// Turns ajv's error objects into one-line messages: "<JSON pointer>: <what
// was expected>". With allErrors, ajv also reports the combinator that failed
// (anyOf/oneOf/if) next to the errors of its branches; only the most specific
// ones are worth reading.
import type { AjvError } from '../generated/validators.cjs';

const COMBINATORS = new Set(['anyOf', 'oneOf', 'if', 'not']);

export function pointer(path: string): string {
  return path === '' ? '(root)' : path;
}

function quote(v: unknown): string {
  return JSON.stringify(v);
}

function describe(e: AjvError): string {
  const p = e.params;
  switch (e.keyword) {
    case 'required':
      return `must have required property '${p.missingProperty}'`;
    case 'enum':
      return `must be one of ${(p.allowedValues as unknown[]).map(quote).join(', ')}`;
    case 'const':
      return `must be ${quote(p.allowedValue)}`;
    case 'type':
      return `must be ${Array.isArray(p.type) ? p.type.join(' or ') : p.type}`;
    case 'pattern':
      return `must match pattern ${quote(p.pattern)}`;
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return `must be ${p.comparison} ${p.limit}`;
    case 'propertyNames':
      return 'is not an allowed property name';
    default:
      return e.message ?? `fails ${e.keyword}`;
  }
}

/** Errors about a key point at the object holding it; name the key instead. */
function pathOf(e: AjvError): string {
  const key = e.propertyName ?? (e.keyword === 'propertyNames' ? e.params.propertyName : undefined);
  if (key === undefined) return e.instancePath;
  return `${e.instancePath}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

export function formatSchemaErrors(errors: readonly AjvError[] | null | undefined): string[] {
  if (!errors) return [];
  const specific = errors.filter((e) => {
    if (!COMBINATORS.has(e.keyword)) return true;
    // Keep a combinator only if nothing at or below its path says more.
    return !errors.some((o) => o !== e && !COMBINATORS.has(o.keyword) && (o.instancePath === e.instancePath || o.instancePath.startsWith(e.instancePath + '/')));
  });
  const out: string[] = [];
  const seen = new Set<string>();
  for (const e of specific) {
    if (e.keyword === 'propertyNames' && errors.some((o) => o.propertyName === e.params.propertyName)) continue;
    const msg = `${pointer(pathOf(e))}: ${describe(e)}`;
    if (!seen.has(msg)) {
      seen.add(msg);
      out.push(msg);
    }
  }
  return out;
}
