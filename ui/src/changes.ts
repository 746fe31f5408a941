/**
 * An entry's `changes` as rows of a before/after table. The API writes
 * `{field: {before, after}}` for updates, `{after: {...}}` for creations and
 * `{before: {...}}` for deletions; all three become one row per field.
 * `undefined` means "did not exist" (shown as a dash), unlike `null`.
 */
export interface ChangeRow {
  field: string;
  before: unknown;
  after: unknown;
  kind: 'added' | 'removed' | 'changed';
}

type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject => value !== null && typeof value === 'object' && !Array.isArray(value);

const isBeforeAfter = (value: unknown): value is { before?: unknown; after?: unknown } =>
  isObject(value) && Object.keys(value).length > 0 && Object.keys(value).every((key) => key === 'before' || key === 'after');

const kindOf = (before: unknown, after: unknown): ChangeRow['kind'] =>
  before === undefined ? 'added' : after === undefined ? 'removed' : 'changed';

const row = (field: string, before: unknown, after: unknown): ChangeRow => ({ field, before, after, kind: kindOf(before, after) });

export function changeRows(changes: unknown): ChangeRow[] {
  if (!isObject(changes)) return [];
  // A whole resource before or after (creation, deletion): one row per field of it.
  if (isBeforeAfter(changes) && (isObject(changes.before) || isObject(changes.after))) {
    const before = isObject(changes.before) ? changes.before : {};
    const after = isObject(changes.after) ? changes.after : {};
    const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return fields.map((field) => row(field, before[field], after[field]));
  }
  return Object.entries(changes).map(([field, value]) =>
    isBeforeAfter(value) ? row(field, value.before, value.after) : row(field, undefined, value),
  );
}
