/**
 * Walks through EVERY mutation of the schema (the list is read from the
 * built schema, so a new mutation without a step here fails the test) and
 * checks that each event it wrote has exactly one audit entry, with the
 * request's actor, correlation id, client metadata and the right changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../src/eventstore/port.js';
import { EVENT_CATALOG } from '../../src/events/catalog.js';
import type { AuditEntryView } from '../../src/projections/audit/audit-entry.js';
import { schema } from '../../src/schema/build.js';
import { ADMIN_TOKEN, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

type Who = 'admin' | 'alice' | 'robot';

interface Step {
  mutation: string;
  who: Who;
  /** null: the instance endpoint. */
  tenant: string | null;
  query: string;
  variables?: () => Record<string, unknown>;
  /** Reads what later steps need from the answer. */
  then?: (data: Record<string, unknown>) => void;
  /** Step-specific expectations on the entries of this request (events order). */
  check?: (entries: AuditEntryView[]) => void;
}

interface Done {
  step: Step;
  correlationId: string;
  events: RecordedEvent[];
}

const SECRET_VALUE = 'p@ss-w0rd-plain-text';
const flow = (id: string, message: string) =>
  `id: ${id}\nnamespace: company\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n    message: ${message}\n`;

const ACTORS: Record<Who, { type: string; id: string }> = {
  admin: { type: 'USER', id: 'admin' },
  alice: { type: 'USER', id: 'alice' },
  robot: { type: 'SERVICE_ACCOUNT', id: 'robot' },
};

/** What an entry must show as `changes`, written from the rules in docs/audit.md (not from the projection's code). */
function expectedChanges(event: RecordedEvent): unknown {
  const data = event.data as Record<string, unknown>;
  const hidden = event.type.startsWith('Secret') ? ['value'] : event.type.startsWith('ApiToken') ? ['secretSalt', 'secretHash'] : [];
  const strip = (fields: Record<string, unknown>) => Object.fromEntries(Object.entries(fields).filter(([k]) => !hidden.includes(k)));
  if (data['changes'] && typeof data['changes'] === 'object') return strip(data['changes'] as Record<string, unknown>);
  const action = EVENT_CATALOG[event.type]?.action ?? '';
  return ['DELETE', 'REVOKE', 'REMOVE_MEMBER'].includes(action) ? { before: strip(data) } : { after: strip(data) };
}

describe('every mutation produces exactly one audit entry per event, with the right actor and changes', () => {
  let gw: TestGateway;
  const tokens: Record<Who, string> = { admin: ADMIN_TOKEN, alice: '', robot: '' };
  const ids: Record<string, string> = {};
  const plaintextTokens: string[] = [];

  const steps: Step[] = [
    {
      mutation: 'createUser',
      who: 'admin',
      tenant: null,
      query: `mutation { createUser(input: {id: "alice", email: "alice@example.com", name: "Alice"}) { id } }`,
    },
    {
      mutation: 'createTenant',
      who: 'admin',
      tenant: null,
      query: `mutation { createTenant(input: {id: "walk", name: "Walk", adminUserId: "alice"}) { id } }`,
      check: (entries) => {
        expect(entries.map((e) => [e.eventType, e.tenantId])).toEqual([
          ['TenantCreated', 'walk'],
          ['BindingCreated', 'walk'],
        ]);
        expect(entries[1]?.changes).toMatchObject({ after: { principalId: 'alice', roleId: 'admin' } });
      },
    },
    {
      mutation: 'createApiToken',
      who: 'admin',
      tenant: null,
      query: `mutation { createApiToken(input: {principalId: "alice", name: "walk"}) { id token } }`,
      then: (data) => {
        const created = data['createApiToken'] as { token: string };
        tokens.alice = created.token;
        plaintextTokens.push(created.token);
      },
      check: (entries) => {
        expect(entries[0]).toMatchObject({ tenantId: '_instance', resourceType: 'API_TOKEN', action: 'CREATE' });
        expect(JSON.stringify(entries)).not.toMatch(/secretHash|secretSalt/);
      },
    },
    {
      mutation: 'updateTenant',
      who: 'admin',
      tenant: null,
      query: `mutation { updateTenant(id: "walk", input: {name: "Walk 2"}) { id } }`,
      check: (entries) => expect(entries[0]?.changes).toEqual({ name: { before: 'Walk', after: 'Walk 2' } }),
    },
    { mutation: 'createNamespace', who: 'alice', tenant: 'walk', query: `mutation { createNamespace(input: {id: "company"}) { id } }` },
    {
      mutation: 'updateNamespace',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { updateNamespace(id: "company", input: {description: "Company", variables: {region: "eu"}}) { id } }`,
      check: (entries) =>
        expect(entries[0]?.changes).toEqual({
          description: { before: null, after: 'Company' },
          variables: { before: {}, after: { region: 'eu' } },
        }),
    },
    {
      mutation: 'setNamespaceVariable',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { setNamespaceVariable(id: "company", key: "tier", value: "gold") { id } }`,
      check: (entries) =>
        expect(entries[0]?.changes).toEqual({ variables: { before: { region: 'eu' }, after: { region: 'eu', tier: 'gold' } } }),
    },
    {
      mutation: 'unsetNamespaceVariable',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { unsetNamespaceVariable(id: "company", key: "tier") { id } }`,
      check: (entries) =>
        expect(entries[0]?.changes).toEqual({ variables: { before: { region: 'eu', tier: 'gold' }, after: { region: 'eu' } } }),
    },
    {
      mutation: 'setNamespacePluginDefault',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { setNamespacePluginDefault(id: "company", pluginDefault: {type: "io.kestra.plugin.aws", values: {region: "eu"}}) { id } }`,
      check: (entries) => expect(entries[0]).toMatchObject({ resourceType: 'NAMESPACE', action: 'UPDATE' }),
    },
    {
      mutation: 'unsetNamespacePluginDefault',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { unsetNamespacePluginDefault(id: "company", type: "io.kestra.plugin.aws") { id } }`,
      check: (entries) => expect(entries[0]).toMatchObject({ resourceType: 'NAMESPACE', action: 'UPDATE' }),
    },
    {
      mutation: 'setNamespaceDefaultAuthentication',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { setNamespaceDefaultAuthentication(id: "company", input: {provider: "aws", secretRefs: {accessKeyId: "AWS_KEY"}}) { id } }`,
      check: (entries) =>
        expect(entries[0]?.changes).toMatchObject({
          defaultAuthentications: {
            before: [],
            after: [
              { provider: 'aws', pluginType: 'io.kestra.plugin.aws', serviceAccountId: null, secretRefs: { accessKeyId: 'AWS_KEY' } },
            ],
          },
        }),
    },
    {
      mutation: 'unsetNamespaceDefaultAuthentication',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { unsetNamespaceDefaultAuthentication(id: "company", provider: "aws") { id } }`,
      check: (entries) => expect(entries[0]).toMatchObject({ resourceType: 'NAMESPACE', action: 'UPDATE', resourceId: 'company' }),
    },
    {
      mutation: 'putSecret',
      who: 'alice',
      tenant: 'walk',
      query: `mutation($v: String!) { putSecret(input: {namespace: "company", key: "DB_PASSWORD", value: $v, description: "db", tags: [{key: "team", value: "data"}]}) { key } }`,
      variables: () => ({ v: SECRET_VALUE }),
      check: (entries) =>
        expect(entries[0]).toMatchObject({ resourceType: 'SECRET', resourceId: 'company/DB_PASSWORD', namespace: 'company' }),
    },
    {
      mutation: 'createFlow',
      who: 'alice',
      tenant: 'walk',
      query: `mutation($s: String!) { createFlow(source: $s) { id } }`,
      variables: () => ({ s: flow('etl', 'one') }),
    },
    {
      mutation: 'updateFlow',
      who: 'alice',
      tenant: 'walk',
      query: `mutation($s: String!) { updateFlow(namespace: "company", id: "etl", source: $s) { revision } }`,
      variables: () => ({ s: flow('etl', 'two') }),
      check: (entries) => expect(entries[0]).toMatchObject({ resourceType: 'FLOW', resourceId: 'company.etl', action: 'UPDATE' }),
    },
    {
      mutation: 'restoreFlowRevision',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { restoreFlowRevision(namespace: "company", id: "etl", revision: 1) { revision } }`,
    },
    { mutation: 'deleteFlow', who: 'alice', tenant: 'walk', query: `mutation { deleteFlow(namespace: "company", id: "etl") { id } }` },
    {
      mutation: 'restoreFlow',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { restoreFlow(namespace: "company", id: "etl") { revision } }`,
      check: (entries) => expect(entries[0]).toMatchObject({ resourceType: 'FLOW', action: 'RESTORE', eventType: 'FlowCreated' }),
    },
    { mutation: 'deleteFlow', who: 'alice', tenant: 'walk', query: `mutation { deleteFlow(namespace: "company", id: "etl") { id } }` },
    {
      mutation: 'createRole',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { createRole(input: {id: "auditor", permissions: [{resource: "AUDITLOG", actions: ["VIEW", "LIST"]}]}) { id } }`,
    },
    {
      mutation: 'updateRole',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { updateRole(id: "auditor", input: {description: "Reads the audit log"}) { id } }`,
      check: (entries) => expect(entries[0]?.changes).toMatchObject({ description: { before: null, after: 'Reads the audit log' } }),
    },
    { mutation: 'createGroup', who: 'alice', tenant: 'walk', query: `mutation { createGroup(input: {id: "ops"}) { id } }` },
    {
      mutation: 'addGroupMember',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { addGroupMember(groupId: "ops", userId: "alice") { id } }`,
      check: (entries) => expect(entries[0]).toMatchObject({ action: 'ADD_MEMBER', changes: { after: { id: 'ops', userId: 'alice' } } }),
    },
    {
      mutation: 'removeGroupMember',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { removeGroupMember(groupId: "ops", userId: "alice") { id } }`,
      check: (entries) =>
        expect(entries[0]).toMatchObject({ action: 'REMOVE_MEMBER', changes: { before: { id: 'ops', userId: 'alice' } } }),
    },
    {
      mutation: 'updateGroup',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { updateGroup(id: "ops", input: {description: "On call"}, expectedRevision: 3) { id } }`,
      check: (entries) =>
        expect(entries[0]).toMatchObject({ action: 'UPDATE', changes: { description: { before: null, after: 'On call' } } }),
    },
    {
      mutation: 'disableGroup',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { disableGroup(id: "ops") { id } }`,
      check: (entries) => expect(entries[0]).toMatchObject({ action: 'UPDATE', eventType: 'GroupDisabled', resourceId: 'ops' }),
    },
    {
      mutation: 'enableGroup',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { enableGroup(id: "ops") { id } }`,
      check: (entries) => expect(entries[0]).toMatchObject({ action: 'UPDATE', eventType: 'GroupEnabled', resourceId: 'ops' }),
    },
    {
      mutation: 'addGroupMember',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { addGroupMember(groupId: "ops", userId: "alice") { id } }`,
    },
    {
      mutation: 'deleteGroup',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { deleteGroup(id: "ops") }`,
      check: (entries) =>
        expect(entries.map((e) => `${e.eventType}:${e.action}`)).toEqual(['GroupMemberRemoved:REMOVE_MEMBER', 'GroupDeleted:DELETE']),
    },
    {
      mutation: 'createServiceAccount',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { createServiceAccount(input: {id: "robot"}) { id } }`,
    },
    {
      mutation: 'createBinding',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { createBinding(input: {principalType: SERVICE_ACCOUNT, principalId: "robot", roleId: "developer"}) { id } }`,
      then: (data) => (ids['binding'] = (data['createBinding'] as { id: string }).id),
      check: (entries) => expect(entries[0]).toMatchObject({ action: 'GRANT', resourceType: 'BINDING' }),
    },
    {
      mutation: 'createApiToken',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { createApiToken(input: {principalId: "robot", name: "deploy"}) { id token } }`,
      then: (data) => {
        const created = data['createApiToken'] as { id: string; token: string };
        tokens.robot = created.token;
        ids['robotToken'] = created.id;
        plaintextTokens.push(created.token);
      },
      check: (entries) => expect(entries[0]).toMatchObject({ tenantId: 'walk', resourceType: 'API_TOKEN' }),
    },
    {
      mutation: 'putSecret',
      who: 'robot',
      tenant: 'walk',
      query: `mutation { putSecret(input: {namespace: "company", key: "API_KEY", value: "robot-secret-value"}) { key } }`,
    },
    {
      mutation: 'createFlow',
      who: 'robot',
      tenant: 'walk',
      query: `mutation($s: String!) { createFlow(source: $s) { id } }`,
      variables: () => ({ s: flow('etl2', 'robot') }),
    },
    {
      mutation: 'revokeApiToken',
      who: 'alice',
      tenant: 'walk',
      query: `mutation($id: ID!) { revokeApiToken(id: $id) }`,
      variables: () => ({ id: ids['robotToken'] }),
    },
    {
      mutation: 'deleteBinding',
      who: 'alice',
      tenant: 'walk',
      query: `mutation($id: ID!) { deleteBinding(id: $id) }`,
      variables: () => ({ id: ids['binding'] }),
      check: (entries) =>
        expect(entries[0]).toMatchObject({ action: 'REVOKE', changes: { before: { principalId: 'robot', roleId: 'developer' } } }),
    },
    { mutation: 'deleteRole', who: 'alice', tenant: 'walk', query: `mutation { deleteRole(id: "auditor") }` },
    { mutation: 'deleteSecret', who: 'alice', tenant: 'walk', query: `mutation { deleteSecret(namespace: "company", key: "API_KEY") }` },
    {
      mutation: 'deleteNamespace',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { deleteNamespace(id: "company", force: true) { id } }`,
      check: (entries) => {
        // One request, several events (the cascade): one entry each, all with the request's correlation id.
        expect(entries.map((e) => e.eventType).sort()).toEqual(['FlowDeleted', 'NamespaceDeleted', 'SecretDeleted']);
        expect(entries.at(-1)?.eventType).toBe('NamespaceDeleted');
      },
    },
    {
      mutation: 'restoreNamespace',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { restoreNamespace(id: "company") { id } }`,
      check: (entries) => expect(entries[0]).toMatchObject({ resourceType: 'NAMESPACE', action: 'RESTORE', eventType: 'NamespaceCreated' }),
    },
    {
      mutation: 'createTenant',
      who: 'admin',
      tenant: null,
      query: `mutation { createTenant(input: {id: "doomed", name: "Doomed", adminUserId: "admin"}) { id } }`,
    },
    { mutation: 'deleteTenant', who: 'admin', tenant: null, query: `mutation { deleteTenant(id: "doomed") { id } }` },
    {
      mutation: 'restoreTenant',
      who: 'admin',
      tenant: null,
      query: `mutation { restoreTenant(id: "doomed") { id } }`,
      check: (entries) => expect(entries[0]).toMatchObject({ tenantId: 'doomed', action: 'RESTORE', resourceType: 'TENANT' }),
    },
    {
      mutation: 'updateServiceAccount',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { updateServiceAccount(id: "robot", input: {name: "Robot"}) { id } }`,
      check: (entries) => expect(entries[0]).toMatchObject({ action: 'UPDATE', changes: { name: { before: 'robot', after: 'Robot' } } }),
    },
    {
      mutation: 'disableServiceAccount',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { disableServiceAccount(id: "robot") { id } }`,
      check: (entries) => expect(entries[0]).toMatchObject({ eventType: 'ServiceAccountDisabled', resourceId: 'robot' }),
    },
    {
      mutation: 'enableServiceAccount',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { enableServiceAccount(id: "robot") { id } }`,
      check: (entries) => expect(entries[0]).toMatchObject({ eventType: 'ServiceAccountEnabled', resourceId: 'robot' }),
    },
    {
      mutation: 'deleteServiceAccount',
      who: 'alice',
      tenant: 'walk',
      query: `mutation { deleteServiceAccount(id: "robot") }`,
      check: (entries) => expect(entries[0]).toMatchObject({ action: 'DELETE', resourceType: 'SERVICE_ACCOUNT', resourceId: 'robot' }),
    },
    {
      mutation: 'createUser',
      who: 'admin',
      tenant: null,
      query: `mutation { createUser(input: {id: "leaver", email: "leaver@example.com"}) { id } }`,
    },
    {
      mutation: 'updateUser',
      who: 'admin',
      tenant: null,
      query: `mutation { updateUser(id: "leaver", input: {name: "Leaver"}, expectedRevision: 1) { id } }`,
      check: (entries) => expect(entries[0]).toMatchObject({ tenantId: '_instance', changes: { name: { before: null, after: 'Leaver' } } }),
    },
    {
      mutation: 'disableUser',
      who: 'admin',
      tenant: null,
      query: `mutation { disableUser(id: "leaver") { id } }`,
      check: (entries) => expect(entries[0]).toMatchObject({ eventType: 'UserDisabled', resourceType: 'USER', resourceId: 'leaver' }),
    },
    {
      mutation: 'enableUser',
      who: 'admin',
      tenant: null,
      query: `mutation { enableUser(id: "leaver") { id } }`,
      check: (entries) => expect(entries[0]).toMatchObject({ eventType: 'UserEnabled', resourceType: 'USER', resourceId: 'leaver' }),
    },
    {
      mutation: 'deleteUser',
      who: 'admin',
      tenant: null,
      query: `mutation { deleteUser(id: "leaver") }`,
      check: (entries) => expect(entries[0]).toMatchObject({ action: 'DELETE', resourceType: 'USER', resourceId: 'leaver' }),
    },
  ];

  const done: Done[] = [];

  beforeAll(async () => {
    gw = await startTestGateway();
    for (const [n, step] of steps.entries()) {
      const before = await gw.app.events.headPosition();
      const correlationId = `walk-${n}-${step.mutation}`;
      const result = await gw.gql(step.query, step.variables?.() ?? {}, {
        tenant: step.tenant,
        token: tokens[step.who],
        headers: { 'x-correlation-id': correlationId, 'user-agent': 'walkthrough/1.0' },
      });
      const data = expectData(result);
      step.then?.(data);
      const events = await gw.app.events.readAll({ after: before, maxCount: 1000 });
      done.push({ step, correlationId, events });
    }
  }, 120_000);

  afterAll(async () => {
    await gw.dispose();
  });

  /** Every entry of a trail, newest first, through the GraphQL API. */
  const trail = async (tenant: string): Promise<AuditEntryView[]> => {
    const out: AuditEntryView[] = [];
    let after: string | null = null;
    for (;;) {
      const page: { edges: { node: AuditEntryView }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } = expectData(
        await gw.gql<{ auditLogs: { edges: { node: AuditEntryView }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }>(
          `query($after: String) { auditLogs(first: 500, after: $after) { edges { node { id tenantId namespace resourceType resourceId action eventType actor { type id } occurredAt position correlationId changes ip userAgent hash previousHash } } pageInfo { hasNextPage endCursor } } }`,
          { after },
          { tenant: tenant === '_instance' ? null : tenant, token: tenant === 'walk' ? tokens.alice : ADMIN_TOKEN },
        ),
      ).auditLogs;
      out.push(...page.edges.map((e) => e.node));
      if (!page.pageInfo.hasNextPage) return out;
      after = page.pageInfo.endCursor;
    }
  };

  it('the walk covers every mutation of the schema', async () => {
    // Mutations that change nothing in the governance domain write no event, hence no entry.
    // startAuditVerification starts a read-only check; signAuditCheckpoint signs what the log already holds.
    const notAudited = new Set(['startAuditVerification', 'signAuditCheckpoint']);
    const mutations = Object.keys((await schema()).getMutationType()?.getFields() ?? {})
      .filter((m) => !notAudited.has(m))
      .sort();
    const covered = new Set(steps.map((s) => s.mutation));
    expect(mutations.filter((m) => !covered.has(m))).toEqual([]);
    expect([...covered].filter((m) => !mutations.includes(m))).toEqual([]);
  });

  it('each request left one entry per event it wrote, with its actor, correlation id, client and changes', async () => {
    const trails = new Map<string, AuditEntryView[]>();
    for (const name of ['walk', 'doomed', '_instance', 'main']) trails.set(name, await trail(name));
    const byId = new Map([...trails.values()].flat().map((e) => [e.id, e] as const));

    for (const { step, correlationId, events } of done) {
      const label = `${step.mutation} as ${step.who}`;
      expect(events.length, `${label} wrote no event`).toBeGreaterThan(0);
      const entries = events.map((event) => {
        const entry = byId.get(event.id);
        expect(entry, `${label}: no audit entry for ${event.type} ${event.id}`).toBeDefined();
        return entry as AuditEntryView;
      });
      const ofRequest = [...byId.values()].filter((e) => e.correlationId === correlationId);
      expect(ofRequest.map((e) => e.id).sort(), `${label}: entries of the request`).toEqual(events.map((e) => e.id).sort());
      for (const [i, entry] of entries.entries()) {
        const event = events[i] as RecordedEvent;
        expect(entry, label).toMatchObject({
          eventType: event.type,
          position: String(event.position),
          tenantId: event.streamName.split('/')[0],
          actor: ACTORS[step.who],
          correlationId,
          userAgent: 'walkthrough/1.0',
          resourceType: EVENT_CATALOG[event.type]?.resourceType,
          action: EVENT_CATALOG[event.type]?.actionOf?.(event.data as Record<string, unknown>) ?? EVENT_CATALOG[event.type]?.action,
        });
        expect(entry.ip, label).toMatch(/127\.0\.0\.1|::1/);
        expect(entry.changes, `${label}: changes of ${event.type}`).toEqual(expectedChanges(event));
      }
      step.check?.(entries);
    }
  });

  it('no entry without an event, none twice, and no secret value or token anywhere in the trails', async () => {
    const all = await gw.app.events.readAll({ maxCount: 100_000 });
    const entries = (await Promise.all(['walk', 'doomed', '_instance', 'main'].map(trail))).flat();
    expect(entries.map((e) => e.id).sort()).toEqual(all.map((e) => e.id).sort());
    const text = JSON.stringify(entries);
    for (const secret of [SECRET_VALUE, 'robot-secret-value', ...plaintextTokens]) expect(text).not.toContain(secret);
  });
});
