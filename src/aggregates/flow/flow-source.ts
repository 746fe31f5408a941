import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { badInput, type DomainError } from '../../shared/errors.js';
import { isValidId } from '../../shared/ids.js';

/**
 * Flow sources are YAML written by people; every refusal names the line (and
 * column) or the field path, so an editor can point at it. This module is
 * pure: the decider and the service both call it.
 */

export interface FlowTask {
  id: string;
  type: string;
}

/** What the rest of the system reads out of a source; the source itself stays the truth. */
export interface FlowSummary {
  description: string | null;
  disabled: boolean;
  /** Top-level tasks, in order. */
  tasks: FlowTask[];
}

export interface FlowDefinition extends FlowSummary {
  namespace: string;
  id: string;
  source: string;
}

export const MAX_SOURCE_BYTES = 512 * 1024;
const MAX_DESCRIPTION = 10_000;
const MAX_TASK_TYPE = 300;
/** Kestra's task id rule (no dots: ids are used in expressions such as `outputs.my_task`). */
const TASK_ID = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,99}$/;
/** A plugin type is a Java class name: dotted identifiers. */
const TASK_TYPE = /^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*)*$/;
/** Task lists of a flow besides `tasks`, and of flowable tasks (Sequential, If, Switch, ...): all ids share one scope. */
const FLOW_TASK_LISTS = ['errors', 'finally', 'afterExecution'] as const;
const NESTED_TASK_LISTS = ['tasks', 'errors', 'finally', 'then', 'else'] as const;
/** Alias expansion is bounded so that a "billion laughs" source cannot exhaust memory. */
const MAX_ALIAS_COUNT = 100;

type Path = (string | number)[];

/** `['tasks', 2, 'id']` → `tasks[2].id` */
export function formatPath(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

class SourceReader {
  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** A refusal about one field: the path, and the line of the field or of its nearest existing parent. */
  fieldError(path: Path, problem: string): DomainError {
    const field = formatPath(path);
    const where = this.position(path);
    const at = where ? ` (line ${where.line})` : '';
    return badInput('source', `${field} ${problem}${at}`, { path: field, ...(where ? { line: where.line, column: where.col } : {}) });
  }

  private position(path: Path): { line: number; col: number } | null {
    for (let depth = path.length; depth >= 0; depth--) {
      const node: unknown = depth === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, depth), true);
      if (isNode(node) && node.range) return this.lines.linePos(node.range[0]);
    }
    return null;
  }
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function parseYaml(source: string): { value: unknown; reader: SourceReader } {
  try {
    return parseYamlDocument(source);
  } catch (error) {
    // The YAML library recurses once per nesting level: thousands of levels exhaust the stack.
    if (error instanceof RangeError) throw badInput('source', 'invalid YAML: nested too deeply');
    throw error;
  }
}

function parseYamlDocument(source: string): { value: unknown; reader: SourceReader } {
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const [error] = doc.errors;
  if (error) {
    const { line, col } = lines.linePos(error.pos[0]);
    // The parser reports its own stack overflow (thousands of nesting levels) as a parse error.
    const message = /maximum call stack/i.test(error.message) ? 'nested too deeply' : error.message;
    throw badInput('source', `invalid YAML at line ${line}, column ${col}: ${message}`, { line, column: col, reason: error.code });
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (cause) {
    if (cause instanceof RangeError) throw cause; // too deep: see parseYaml
    // Unresolved aliases and alias bombs surface only here.
    const message = cause instanceof Error ? cause.message : String(cause);
    throw badInput('source', `invalid YAML: ${message}`);
  }
  return { value, reader: new SourceReader(doc, lines) };
}

const ID_RULES = {
  id: { kind: 'flow', rule: 'must match ^[a-zA-Z0-9][a-zA-Z0-9._-]*$, at most 100 characters' },
  namespace: { kind: 'namespace', rule: 'must match ^[a-z0-9][a-z0-9._-]*$, at most 150 characters, dot-separated segments, none empty' },
} as const;

function requireId(reader: SourceReader, flow: Record<string, unknown>, field: keyof typeof ID_RULES): string {
  const value = flow[field];
  if (value === undefined || value === null) throw reader.fieldError([field], 'is required');
  if (!isValidId(ID_RULES[field].kind, value)) throw reader.fieldError([field], ID_RULES[field].rule);
  return value;
}

function optionalDescription(reader: SourceReader, flow: Record<string, unknown>): string | null {
  const description = flow['description'];
  if (description === undefined || description === null) return null;
  if (typeof description !== 'string' || description.length > MAX_DESCRIPTION) {
    throw reader.fieldError(['description'], `must be a string of at most ${MAX_DESCRIPTION} characters`);
  }
  return description;
}

function optionalDisabled(reader: SourceReader, flow: Record<string, unknown>): boolean {
  const disabled = flow['disabled'];
  if (disabled === undefined || disabled === null) return false;
  if (typeof disabled !== 'boolean') throw reader.fieldError(['disabled'], 'must be true or false');
  return disabled;
}

/**
 * Checks one task and, recursively, the task lists it holds (flowable tasks),
 * recording every id in `seen` so that ids are unique across the whole flow.
 */
function readTask(reader: SourceReader, path: Path, item: unknown, seen: Map<string, string>): FlowTask {
  if (!isMapping(item)) throw reader.fieldError(path, 'must be a mapping with id and type');
  const { id, type } = item;
  if (id === undefined || id === null) throw reader.fieldError([...path, 'id'], 'is required');
  if (typeof id !== 'string' || !TASK_ID.test(id)) {
    throw reader.fieldError([...path, 'id'], 'must match ^[a-zA-Z0-9][a-zA-Z0-9_-]*$, at most 100 characters');
  }
  const first = seen.get(id);
  if (first !== undefined) throw reader.fieldError([...path, 'id'], `duplicates the task id ${JSON.stringify(id)} of ${first}`);
  seen.set(id, formatPath(path));
  if (type === undefined || type === null) throw reader.fieldError([...path, 'type'], 'is required');
  if (typeof type !== 'string' || type.length > MAX_TASK_TYPE || !TASK_TYPE.test(type)) {
    throw reader.fieldError([...path, 'type'], 'must be a plugin type such as io.kestra.plugin.core.log.Log');
  }
  readTaskLists(reader, path, item, NESTED_TASK_LISTS, seen);
  // Switch: `cases: { caseValue: [tasks] }`.
  if (isMapping(item['cases'])) {
    for (const [name, list] of Object.entries(item['cases'])) readTaskList(reader, [...path, 'cases', name], list, seen);
  }
  return { id, type };
}

function readTaskList(reader: SourceReader, path: Path, value: unknown, seen: Map<string, string>): FlowTask[] {
  if (!Array.isArray(value)) throw reader.fieldError(path, 'must be a list of tasks');
  return value.map((item, i) => readTask(reader, [...path, i], item, seen));
}

function readTaskLists(
  reader: SourceReader,
  path: Path,
  holder: Record<string, unknown>,
  keys: readonly string[],
  seen: Map<string, string>,
): void {
  for (const key of keys) {
    if (holder[key] !== undefined && holder[key] !== null) readTaskList(reader, [...path, key], holder[key], seen);
  }
}

/**
 * Parses and validates a flow source: a YAML mapping with `id`, `namespace`
 * and a non-empty `tasks` list of `{id, type}` mappings whose ids are unique
 * across the flow (nested task lists included). Throws BAD_USER_INPUT with
 * `field: 'source'` and `line`/`column` (syntax) or `path` (a field).
 */
export function parseFlowSource(source: unknown): FlowDefinition {
  if (typeof source !== 'string' || source.trim().length === 0) throw badInput('source', 'source must be a non-empty YAML document');
  const bytes = Buffer.byteLength(source);
  if (bytes > MAX_SOURCE_BYTES) throw badInput('source', `source is ${bytes} bytes, more than the ${MAX_SOURCE_BYTES} allowed`);
  const { value, reader } = parseYaml(source);
  if (!isMapping(value)) throw badInput('source', 'source must be a YAML mapping with id, namespace and tasks', { line: 1, column: 1 });

  const id = requireId(reader, value, 'id');
  const namespace = requireId(reader, value, 'namespace');
  const description = optionalDescription(reader, value);
  const disabled = optionalDisabled(reader, value);
  if (value['tasks'] === undefined || value['tasks'] === null) throw reader.fieldError(['tasks'], 'is required');
  if (Array.isArray(value['tasks']) && value['tasks'].length === 0) throw reader.fieldError(['tasks'], 'must hold at least one task');

  const seen = new Map<string, string>();
  const tasks = readTaskList(reader, ['tasks'], value['tasks'], seen);
  readTaskLists(reader, [], value, FLOW_TASK_LISTS, seen);
  return { id, namespace, source, description, disabled, tasks };
}
