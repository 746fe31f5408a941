/**
 * The filter of the page, kept in the URL query so a filtered view is a link
 * that can be shared. Keys are the API's AuditLogFilter field names; `from`
 * and `to` are ISO-8601 instants (UTC), the same in every time zone.
 */
export const FILTER_KEYS = ['namespace', 'resourceType', 'resourceId', 'actorId', 'action', 'from', 'to'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type AuditFilter = Partial<Record<FilterKey, string>>;

export function filterFromQuery(search: string): AuditFilter {
  const params = new URLSearchParams(search);
  const filter: AuditFilter = {};
  for (const key of FILTER_KEYS) {
    const value = params.get(key)?.trim();
    if (value) filter[key] = value;
  }
  return filter;
}

/** The query string for a filter, keeping the parameters that are not filters (such as `entry`). */
export function queryWithFilter(search: string, filter: AuditFilter): string {
  const params = new URLSearchParams(search);
  for (const key of FILTER_KEYS) {
    const value = filter[key];
    if (value) params.set(key, value);
    else params.delete(key);
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

export const isEmptyFilter = (filter: AuditFilter): boolean => FILTER_KEYS.every((key) => !filter[key]);

/** `YYYY-MM-DDTHH:mm:ss` in local time, for an `<input type="datetime-local">`. */
export function isoToLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 19);
}

export function localInputToIso(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}
