/**
 * Enum-like outputs are GraphQL enums (PermissionResource, PermissionAction,
 * AuditResourceType, AuditAction, PrincipalKind for Actor.type), which
 * changes nothing in the JSON a client receives; the matching inputs stay
 * String, so quoted literals in a query's text are still accepted.
 */
import { buildSchema, getNamedType, isEnumType, isInputObjectType, isObjectType, type GraphQLType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenant } from '../support/access.js';
import { ADMIN_TOKEN, errorCode, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

describe('enum outputs, String inputs', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
    await createTenant(gw, 'acme');
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('still takes quoted literals in inputs, and answers the same strings as before', async () => {
    const created = expectData(
      await gw.gql<{ createRole: { permissions: { resource: string; actions: string[] }[] } }>(
        `mutation { createRole(input: {id: "flow-reader", permissions: [{resource: "FLOW", actions: ["LIST", "VIEW"]}]}) { permissions { resource actions } } }`,
        {},
        { tenant: 'acme' },
      ),
    );
    expect(created.createRole.permissions).toEqual([{ resource: 'FLOW', actions: ['VIEW', 'LIST'] }]);

    const mine = expectData(
      await gw.gql<{ effectivePermissions: { resource: string; action: string }[] }>(
        `{ effectivePermissions(principalId: "admin") { resource action } }`,
        {},
        { tenant: 'acme' },
      ),
    );
    expect(mine.effectivePermissions).toContainEqual({ resource: 'AUDITLOG', action: 'EXPORT' });

    const audit = expectData(
      await gw.gql<{ auditLogs: { edges: { node: { resourceType: string; action: string; actor: { type: string } } }[] } }>(
        `{ auditLogs(filter: {resourceType: "ROLE", action: "CREATE"}) { edges { node { resourceType action actor { type } } } } }`,
        {},
        { tenant: 'acme' },
      ),
    );
    expect(audit.auditLogs.edges.map((e) => e.node)).toEqual([{ resourceType: 'ROLE', action: 'CREATE', actor: { type: 'USER' } }]);
  });

  it('types the outputs as enums and keeps the filter and permission inputs String (the schema the gateway serves)', async () => {
    const response = await fetch(`${gw.url}/api/v1/schema.graphql`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const schema = buildSchema(await response.text());
    const fieldTypes = (name: string): Record<string, string> => {
      const type = schema.getType(name);
      if (!isObjectType(type) && !isInputObjectType(type)) throw new Error(`${name} is not an object or input type`);
      const fields: { name: string; type: GraphQLType }[] = Object.values(type.getFields());
      return Object.fromEntries(
        fields.map((f) => {
          const leaf = getNamedType(f.type);
          return [f.name, `${isEnumType(leaf) ? 'ENUM' : 'SCALAR'} ${leaf.name}`];
        }),
      );
    };
    expect(fieldTypes('AuditLogEntry')).toMatchObject({ resourceType: 'ENUM AuditResourceType', action: 'ENUM AuditAction' });
    expect(fieldTypes('Actor')).toMatchObject({ type: 'ENUM PrincipalKind' });
    expect(fieldTypes('Permission')).toMatchObject({ resource: 'ENUM PermissionResource', actions: 'ENUM PermissionAction' });
    expect(fieldTypes('EffectivePermission')).toMatchObject({ resource: 'ENUM PermissionResource', action: 'ENUM PermissionAction' });
    expect(fieldTypes('AuditLogFilter')).toMatchObject({ resourceType: 'SCALAR String', action: 'SCALAR String' });
    expect(fieldTypes('PermissionInput')).toMatchObject({ resource: 'SCALAR String', actions: 'SCALAR String' });
    // validateFlow's and resolvedFlow's kinds and statuses.
    expect(fieldTypes('ExpressionReference')).toMatchObject({ kind: 'ENUM ExpressionKind', status: 'ENUM ReferenceStatus' });
    expect(fieldTypes('CheckedSecretRef')).toMatchObject({ status: 'ENUM ReferenceStatus' });
    expect(fieldTypes('ResolvedPlugin')).toMatchObject({ kind: 'ENUM PluginKind' });
    expect(fieldTypes('GovernanceRevision')).toMatchObject({ kind: 'ENUM GovernanceKind' });
  });

  it('validateFlow answers the same strings through the enums', async () => {
    const source = `id: hi\nnamespace: company.team\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: "{{ secret('NOPE') }} {{ namespace.who }}"\n`;
    const checked = expectData(
      await gw.gql<{ validateFlow: { resolved: { references: { kind: string; status: string }[]; plugins: { kind: string }[] } } }>(
        `query($s: String!) { validateFlow(source: $s) { resolved { references { kind status } plugins { kind } } } }`,
        { s: source },
        { tenant: 'acme' },
      ),
    );
    expect(checked.validateFlow.resolved.references).toEqual([
      { kind: 'SECRET', status: 'MISSING' },
      { kind: 'VARIABLE', status: 'MISSING' },
    ]);
    expect(checked.validateFlow.resolved.plugins).toEqual([{ kind: 'TASK' }]);
  });

  it('v2 takes the permission and audit-filter inputs as enums (no quoted literals there)', async () => {
    const v2 = (query: string) => gw.gql<Record<string, unknown>>(query, {}, { tenant: 'acme', api: 'v2' });
    expectData(await v2(`mutation { createRole(input: {id: "v2-reader", permissions: [{resource: FLOW, actions: [VIEW]}]}) { roleId } }`));
    expect(
      errorCode(
        await v2(`mutation { createRole(input: {id: "v2-quoted", permissions: [{resource: "FLOW", actions: ["VIEW"]}]}) { roleId } }`),
      ),
    ).toBe('BAD_USER_INPUT');
    const audit = expectData(await v2(`{ auditLogs(filter: {resourceType: ROLE, action: CREATE}) { edges { node { resourceId } } } }`)) as {
      auditLogs: { edges: { node: { resourceId: string } }[] };
    };
    expect(audit.auditLogs.edges.map((e) => e.node.resourceId)).toContain('v2-reader');
  });
});
