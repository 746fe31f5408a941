import { describe, expect, it } from 'vitest';
import { changeRows } from '../../ui/src/changes.js';
import { filterFromQuery, isoToLocalInput, localInputToIso, queryWithFilter } from '../../ui/src/filters.js';

describe('audit page: changes as before/after rows', () => {
  it('an update lists each changed field with its before and after', () => {
    expect(
      changeRows({ variables: { before: { env: 'dev' }, after: { env: 'prod' } }, description: { before: null, after: 'Team' } }),
    ).toEqual([
      { field: 'variables', before: { env: 'dev' }, after: { env: 'prod' }, kind: 'changed' },
      { field: 'description', before: null, after: 'Team', kind: 'changed' },
    ]);
  });

  it('a creation shows every field as added, a deletion every field as removed', () => {
    expect(changeRows({ after: { id: 'a', description: null } })).toEqual([
      { field: 'id', before: undefined, after: 'a', kind: 'added' },
      { field: 'description', before: undefined, after: null, kind: 'added' },
    ]);
    expect(changeRows({ before: { id: 'a' } })).toEqual([{ field: 'id', before: 'a', after: undefined, kind: 'removed' }]);
  });

  it('a field without before/after, or no changes at all, still renders', () => {
    expect(changeRows({ members: ['u1'] })).toEqual([{ field: 'members', before: undefined, after: ['u1'], kind: 'added' }]);
    expect(changeRows(null)).toEqual([]);
    expect(changeRows('text')).toEqual([]);
  });
});

describe('audit page: filters in the URL query', () => {
  it('reads the filter fields and ignores empty and unknown parameters', () => {
    expect(filterFromQuery('?resourceType=NAMESPACE&namespace=company&actorId=&entry=x&other=1')).toEqual({
      resourceType: 'NAMESPACE',
      namespace: 'company',
    });
  });

  it('writes a filter, keeping parameters that are not filters', () => {
    expect(queryWithFilter('?namespace=old&entry=e1&at=5', { namespace: 'company.team', action: 'UPDATE' })).toBe(
      '?namespace=company.team&entry=e1&at=5&action=UPDATE',
    );
    expect(queryWithFilter('?namespace=old', {})).toBe('');
  });

  it('round-trips an instant through a datetime-local input', () => {
    const iso = '2026-03-01T10:20:30.000Z';
    expect(localInputToIso(isoToLocalInput(iso))).toBe(iso);
    expect(localInputToIso('')).toBeUndefined();
    expect(isoToLocalInput('not a date')).toBe('');
  });
});
