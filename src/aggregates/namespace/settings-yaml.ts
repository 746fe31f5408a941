import { parseDocument } from 'yaml';
import { badInput, DomainError } from '../../shared/errors.js';

/**
 * Namespace settings written as YAML (variables, plugin defaults), as Kestra's
 * Terraform provider takes them. Pure; bounded before anything is composed:
 * the size, alias expansion (no "billion laughs") and the nesting depth.
 */

const MAX_YAML_BYTES = 256 * 1024;
const MAX_ALIAS_COUNT = 100;
const MAX_NESTING = 64;

/** Deepest run of flow-collection brackets or block indentation is bounded by counting, without recursion. */
function tooDeep(source: string): boolean {
  let depth = 0;
  for (const char of source) {
    if (char === '[' || char === '{') depth++;
    else if (char === ']' || char === '}') depth = Math.max(0, depth - 1);
    if (depth > MAX_NESTING) return true;
  }
  for (const line of source.split('\n')) {
    const indent = line.length - line.trimStart().length;
    if (indent > MAX_NESTING * 4) return true;
  }
  return false;
}

export function parseSettingsYaml(field: string, source: unknown): unknown {
  if (typeof source !== 'string') throw badInput(field, `${field} must be a YAML document`);
  const bytes = Buffer.byteLength(source);
  if (bytes > MAX_YAML_BYTES) throw badInput(field, `${field} is ${bytes} bytes, more than the ${MAX_YAML_BYTES} allowed`);
  if (tooDeep(source)) throw badInput(field, `${field}: invalid YAML: nested too deeply`);
  try {
    const doc = parseDocument(source, { uniqueKeys: true, prettyErrors: false });
    const [error] = doc.errors;
    if (error) {
      const [line, column] = [error.linePos?.[0].line, error.linePos?.[0].col];
      const at = line ? ` at line ${line}, column ${column}` : '';
      throw badInput(field, `${field}: invalid YAML${at}: ${error.message.split('\n')[0]}`, line ? { line, column } : {});
    }
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
  } catch (cause) {
    if (cause instanceof DomainError) throw cause;
    if (cause instanceof RangeError) throw badInput(field, `${field}: invalid YAML: nested too deeply`);
    const message = cause instanceof Error ? cause.message : String(cause);
    throw badInput(field, `${field}: invalid YAML: ${message}`);
  }
}
