import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/** Verdicts by field node (the same for every execution of one parsed document) and field name. */
const verdicts = new WeakMap<FieldNode, Map<string, boolean>>();

/**
 * Whether the current field's selection asks, at any depth and through
 * fragments, for a field named `name`: a resolver returning a page can then
 * load in one batch what every item of the page is about to ask for, so that
 * the items' fields resolve without a promise each. A false positive (the
 * name under another type) only costs the batch.
 */
export function selectsField(info: GraphQLResolveInfo, name: string): boolean {
  const [first] = info.fieldNodes;
  if (!first) return false;
  let byName = verdicts.get(first);
  if (!byName) verdicts.set(first, (byName = new Map<string, boolean>()));
  let verdict = byName.get(name);
  if (verdict === undefined) {
    verdict = info.fieldNodes.some((node) => node.selectionSet !== undefined && search(node.selectionSet, name, info, new Set()));
    byName.set(name, verdict);
  }
  return verdict;
}

function search(set: SelectionSetNode, name: string, info: GraphQLResolveInfo, seen: Set<string>): boolean {
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value === name) return true;
      if (selection.selectionSet && search(selection.selectionSet, name, info, seen)) return true;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (search(selection.selectionSet, name, info, seen)) return true;
    } else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      const fragment = info.fragments[selection.name.value];
      if (fragment && search(fragment.selectionSet, name, info, seen)) return true;
    }
  }
  return false;
}
