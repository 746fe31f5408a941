import {
  GraphQLInputObjectType,
  GraphQLList,
  GraphQLNonNull,
  isEnumType,
  isListType,
  isNonNullType,
  type GraphQLInputType,
  type GraphQLSchema,
} from 'graphql';

/**
 * Inputs that v1 takes as String (so that quoted literals written before the
 * enums existed still work) and v2 as the enum its outputs already use.
 */
export const INPUT_ENUMS: Record<string, Record<string, string>> = {
  PermissionInput: { resource: 'PermissionResource', actions: 'PermissionAction' },
  AuditLogFilter: { resourceType: 'AuditResourceType', action: 'AuditAction' },
};

export function withEnumInputs(type: GraphQLInputObjectType, enums: Record<string, string>, v1: GraphQLSchema): GraphQLInputObjectType {
  const config = type.toConfig();
  const fields = { ...config.fields };
  for (const [field, enumName] of Object.entries(enums)) {
    const enumType = v1.getType(enumName);
    const current = fields[field];
    if (!isEnumType(enumType) || !current) throw new Error(`v2: no ${type.name}.${field} or enum ${enumName}`);
    // The same wrapping (non-null, list) around the enum instead of String.
    const swap = (t: GraphQLInputType): GraphQLInputType =>
      isNonNullType(t) ? new GraphQLNonNull(swap(t.ofType)) : isListType(t) ? new GraphQLList(swap(t.ofType)) : enumType;
    fields[field] = { ...current, type: swap(current.type) };
  }
  return new GraphQLInputObjectType({ ...config, fields });
}
