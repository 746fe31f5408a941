/**
 * Descriptions that many fields and arguments of the schema share, worded
 * once so that every `expectedRevision`, `createdAt`, … reads the same in
 * schema.graphql and in editors.
 */
export const EXPECTED_REVISION =
  'The `revision` you read. When the thing has moved on since: CONFLICT with `extensions.actualRevision`, and nothing is written. Absent or null: not checked.';

export const FLOW_EXPECTED_REVISION =
  'The flow `revision` (its save counter) you read. When it has moved on since: CONFLICT with `extensions.actualRevision`, and nothing is written. Absent or null: not checked.';

export const REVISION =
  'Events in its stream so far (1 after creation, +1 per change): pass it as `expectedRevision` to change it only if nobody did in between.';

export const CREATED_AT = 'When it was created (the time of its first event).';
export const UPDATED_AT = 'When it last changed (the time of its latest event).';
export const CREATED_BY = 'Id of the user or service account that created it (`admin` for the bootstrap admin).';

export const AS_OF =
  'Read it as it was at this instant, replayed from its events (time travel); absent: as it is now. Null when it did not exist then.';

export const TENANT_ID = 'The tenant it belongs to.';

export const DISPLAY_NAME = 'Display name, free text.';
export const DESCRIPTION_TEXT = 'Free-text description; null when none was given.';

export const PAGE_SIZE = 'Page size: how many to return, from 0 to 500.';
export const AFTER_CURSOR = 'An `endCursor` (or edge `cursor`) of a previous page: the page after it. Absent: the first page.';
export const BEFORE_CURSOR =
  'A `startCursor` (or edge `cursor`) of a later page: the page just before it (with `last`; `first` is not used then). Not with `after`.';
export const LAST_ITEMS =
  'Pages backwards: how many items just before `before` (absent `before`: the last ones of the list), from 0 to 500; `first` is not used then.';
export const EDGE_CURSOR = 'Opaque cursor of this edge: pass it as `after` to continue after it.';

/** Arguments that name a flow, and the options of a namespace deletion (its dry run takes the same). */
export const FLOW_NAMESPACE = 'The namespace of the flow.';
export const FLOW_ID = 'The flow id within its namespace.';
export const DELETE_FORCE = 'Also delete the flows and secrets in it (and the bindings scoped to it) instead of refusing.';
export const DELETE_CHILDREN = 'Also delete the namespaces below it, deepest first.';
