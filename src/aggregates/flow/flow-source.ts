import { Composer, isNode, Lexer, LineCounter, Parser, YAMLParseError, type CST, type Document } from 'yaml';
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
/**
 * Collections nested deeper than this are refused before the YAML is
 * composed. The composer recurses once per level, and where the stack runs
 * out depends on the thread (a worker's stack is four times the main
 * thread's) and on the JIT (measured on the main thread: 1,000 levels were
 * refused while the parser was cold and accepted once it was optimised). A
 * fixed bound gives every thread the same answer, far above any real flow and
 * far below where the main thread's stack ends (about 800 levels).
 */
export const MAX_NESTING_DEPTH = 256;

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
  // parseDocument(), with a depth check between the concrete syntax tree (built without recursion) and its composition.
  const tokens = concreteSyntaxTree(source, lines);
  const aliases = firstAliasPast(tokens, MAX_ALIAS_COUNT);
  if (aliases !== null) {
    const { line, col } = lines.linePos(aliases);
    throw badInput('source', `invalid YAML at line ${line}, column ${col}: more than ${MAX_ALIAS_COUNT} aliases`, {
      line,
      column: col,
      reason: 'RESOURCE_EXHAUSTION',
    });
  }
  const tooDeep = firstTooDeep(tokens);
  if (tooDeep !== null) {
    const { line, col } = lines.linePos(tooDeep);
    throw badInput('source', `invalid YAML at line ${line}, column ${col}: nested too deeply`, {
      line,
      column: col,
      reason: 'RESOURCE_EXHAUSTION',
    });
  }
  const doc = composeOne(tokens, source.length);
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

/** The first document, as yaml's parseDocument() composes it (a second one is an error). */
function composeOne(tokens: CST.Token[], length: number): Document.Parsed {
  const composer = new Composer({ uniqueKeys: true });
  let doc: Document.Parsed | null = null;
  for (const next of composer.compose(tokens, true, length)) {
    if (!doc) {
      doc = next;
      continue;
    }
    const [start, end] = next.range;
    doc.errors.push(
      new YAMLParseError([start, end], 'MULTIPLE_DOCS', 'Source contains multiple documents; please use YAML.parseAllDocuments()'),
    );
    break;
  }
  // compose(…, forceDoc = true) always yields a document, an empty one for an empty stream.
  if (!doc) throw new Error('the YAML composer yielded no document');
  return doc;
}

/**
 * Offset of the alias (`*name`) past the `max`-th, or null. Counted in the
 * concrete syntax tree, before anything is composed: a "billion laughs",
 * whether built from plain aliases or from merge keys (`<<: *a`), needs
 * many aliases, and is refused here without expanding any. `toJS`'s own
 * alias-expansion bound stays as the second line.
 */
function firstAliasPast(tokens: readonly CST.Token[], max: number): number | null {
  let count = 0;
  const stack: CST.Token[] = [...tokens];
  for (let token = stack.pop(); token; token = stack.pop()) {
    if (token.type === 'alias') {
      if (++count > max) return token.offset;
    } else if (token.type === 'document') {
      if (token.value) stack.push(token.value);
    } else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      for (const item of token.items) {
        if (item.value) stack.push(item.value);
        if (item.key) stack.push(item.key);
      }
    }
  }
  return null;
}

/**
 * The concrete syntax tree of `source`, as `Parser.parse` builds it, except
 * that it stops reading once flow collections alone (`[`, `{`) nest deeper
 * than MAX_NESTING_DEPTH: the source is refused whatever follows, and the
 * parser spent about 10 µs a level on the rest (half a second for 100 KB of
 * brackets). The tree read so far holds the first collection nested too
 * deeply, at the offset the whole tree would give it (firstTooDeep finds it).
 */
function concreteSyntaxTree(source: string, lines: LineCounter): CST.Token[] {
  const parser = new Parser(lines.addNewLine);
  const tokens: CST.Token[] = [];
  lines.addNewLine(0);
  let flowDepth = 0;
  for (const lexeme of new Lexer().lex(source)) {
    if (lexeme === '[' || lexeme === '{') flowDepth++;
    else if (lexeme === ']' || lexeme === '}') flowDepth--;
    for (const token of parser.next(lexeme)) tokens.push(token);
    if (flowDepth > MAX_NESTING_DEPTH) break;
  }
  for (const token of parser.end()) tokens.push(token);
  return tokens;
}

/** Offset of the first collection (in source order) nested deeper than MAX_NESTING_DEPTH, or null; walks without recursion. */
function firstTooDeep(tokens: readonly CST.Token[]): number | null {
  const stack: [CST.Token, number][] = [];
  for (let i = tokens.length - 1; i >= 0; i--) stack.push([tokens[i]!, 0]);
  for (let next = stack.pop(); next; next = stack.pop()) {
    const [token, depth] = next;
    if (token.type === 'document') {
      if (token.value) stack.push([token.value, depth]);
    } else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      if (depth + 1 > MAX_NESTING_DEPTH) return token.offset;
      for (let i = token.items.length - 1; i >= 0; i--) {
        const item: CST.CollectionItem = token.items[i]!;
        if (item.value) stack.push([item.value, depth + 1]);
        if (item.key) stack.push([item.key, depth + 1]);
      }
    }
  }
  return null;
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
  return parseFlowDocument(source).definition;
}

/** parseFlowSource, with the whole parsed mapping (for what reads more than the summary: resolved configuration). */
export function parseFlowDocument(source: unknown): { definition: FlowDefinition; document: Record<string, unknown> } {
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
  return { definition: { id, namespace, source, description, disabled, tasks }, document: value };
}
