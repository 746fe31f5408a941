import { registerEnumType } from 'type-graphql';

/**
 * Enum types for the enum-like outputs of validateFlow and resolvedFlow. The
 * JSON a client receives is the same strings as before; a schema-aware
 * client (codegen, an editor) now knows every value.
 */
export enum ReferenceStatusEnum {
  FOUND = 'FOUND',
  MISSING = 'MISSING',
  NOT_VISIBLE = 'NOT_VISIBLE',
}
registerEnumType(ReferenceStatusEnum, {
  name: 'ReferenceStatus',
  description: 'What a check of a referenced secret or variable found.',
  valuesConfig: {
    FOUND: { description: 'It exists where the flow would read it.' },
    MISSING: { description: 'It exists nowhere on the namespace lineage.' },
    NOT_VISIBLE: { description: 'Not found where the caller may look, and some namespaces of the lineage are hidden from the caller.' },
  },
});

export enum ExpressionKindEnum {
  SECRET = 'SECRET',
  VARIABLE = 'VARIABLE',
}
registerEnumType(ExpressionKindEnum, {
  name: 'ExpressionKind',
  description: 'What an expression of a flow refers to.',
  valuesConfig: {
    SECRET: { description: "secret('KEY')" },
    VARIABLE: { description: 'namespace.path' },
  },
});

export enum PluginKindEnum {
  TASK = 'TASK',
  TRIGGER = 'TRIGGER',
}
registerEnumType(PluginKindEnum, {
  name: 'PluginKind',
  description: 'Where a plugin is used in a flow.',
  valuesConfig: { TASK: { description: 'Under tasks (at any depth).' }, TRIGGER: { description: 'Under triggers.' } },
});

export enum GovernanceKindEnum {
  FLOW = 'FLOW',
  NAMESPACE = 'NAMESPACE',
  SECRET = 'SECRET',
}
registerEnumType(GovernanceKindEnum, {
  name: 'GovernanceKind',
  description: 'What a resolved flow read.',
  valuesConfig: {
    FLOW: { description: 'The flow itself.' },
    NAMESPACE: { description: 'A namespace of the lineage (variables, plugin defaults, default authentications).' },
    SECRET: { description: 'A secret (its metadata and version; never a value).' },
  },
});
