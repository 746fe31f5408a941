/**
 * Adversarial access-control suite: every Query and Mutation field of the
 * built schema, run by callers who must not reach the victim tenant's data.
 *
 * The table below needs one entry per schema field; a new operation without
 * an entry fails the first test. Each entry is a valid operation document
 * that would succeed for the victim's admin, so a refusal can only come from
 * access control (validation errors are reported as test bugs).
 *
 * For every caller, endpoint and case: the answer is an error with a code in
 * ALLOWED or empty data; no victim marker appears in the response body
 * (unless the caller itself put it in the request); the event log does not grow.
 */
import { parse, validate, type GraphQLSchema } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/schema/build.js';
import { bind, createTenant, createUserWithToken, serviceAccountToken, userToken } from '../support/access.js';
import { expectData, startTestGateway, type GqlResult, type TestGateway } from '../support/gateway.js';

const ALLOWED = new Set(['FORBIDDEN', 'TENANT_NOT_FOUND', 'UNAUTHENTICATED', 'NOT_FOUND']);

const VICTIM = 'victim';
const ATTACKER = 'attacker';

/** Strings that exist only in the victim tenant's data. */
const M = {
  tenantName: 'VICTIM-TENANT-NAME-3f9c',
  nsDescription: 'VICTIM-NS-DESCRIPTION-81aa',
  nsVariable: 'VICTIM-NS-VARIABLE-22be',
  flowMessage: 'VICTIM-FLOW-MESSAGE-4c1d',
  secretValue: 'VICTIM-SECRET-VALUE-7d55',
  secretDescription: 'VICTIM-SECRET-DESCRIPTION-0b3e',
  roleName: 'VICTIM-ROLE-NAME-5a62',
  roleDescription: 'VICTIM-ROLE-DESCRIPTION-c8f1',
  groupName: 'VICTIM-GROUP-NAME-e4d0',
  groupDescription: 'VICTIM-GROUP-DESCRIPTION-1f7a',
  saName: 'VICTIM-SA-NAME-6b28',
  saDescription: 'VICTIM-SA-DESCRIPTION-a93c',
  memberEmail: 'victim-user@victim.example',
};

interface Victim {
  bindingId: string;
  /** A background audit verification the victim's admin started. */
  jobId: string;
  saTokenId: string;
  saToken: string;
  userTokenId: string;
  userToken: string;
}

interface Case {
  doc: string;
  vars?: Record<string, unknown>;
  /** Instance-level operations whose answer is the caller's own data (me, its tenants, its tokens). */
  ownData?: boolean;
}

const flowYaml = (id: string, text: string) =>
  `id: ${id}\nnamespace: vault\ndescription: ${text}\ntasks:\n  - id: t1\n    type: io.kestra.plugin.core.log.Log\n    message: ${text}\n`;

/** One or more cases per `Query.field` / `Mutation.field`. */
function cases(v: Victim, now: string): Record<string, Case[]> {
  return {
    // --- instance level
    'Query.me': [
      {
        doc: `{ me { id type email name instanceAdmin tenants { id name permissions grants { resource namespace via } } } }`,
        ownData: true,
      },
    ],
    'Query.tenants': [{ doc: `{ tenants(includeDeleted: true) { id name domains deleted } }`, ownData: true }],
    'Query.tenant': [{ doc: `{ tenant(id: "${VICTIM}") { id name } }` }],
    'Query.users': [{ doc: `{ users { id email name } }` }],
    'Mutation.createTenant': [{ doc: `mutation { createTenant(input: {id: "pwned", name: "pwned", adminUserId: "mallory"}) { id } }` }],
    'Mutation.updateTenant': [{ doc: `mutation { updateTenant(id: "${VICTIM}", input: {name: "pwned"}) { id name } }` }],
    'Mutation.deleteTenant': [{ doc: `mutation { deleteTenant(id: "${VICTIM}") { id name } }` }],
    'Mutation.restoreTenant': [{ doc: `mutation { restoreTenant(id: "${VICTIM}") { id name } }` }],
    'Mutation.createUser': [
      { doc: `mutation { createUser(input: {id: "pwned", email: "pwned@example.com", instanceAdmin: true}) { id } }` },
    ],
    'Mutation.deleteUser': [{ doc: `mutation { deleteUser(id: "victim-user") }` }],
    'Query.user': [{ doc: `{ user(id: "victim-user") { id email name disabled revision } }` }],
    'Mutation.updateUser': [{ doc: `mutation { updateUser(id: "victim-user", input: {name: "pwned"}) { id email name } }` }],
    'Mutation.disableUser': [{ doc: `mutation { disableUser(id: "victim-user") { id email } }` }],
    'Mutation.enableUser': [{ doc: `mutation { enableUser(id: "victim-user") { id email } }` }],
    // --- namespaces
    'Query.namespaces': [
      { doc: `{ namespaces { id description variables } }` },
      { doc: `{ namespaces(prefix: "vault", existingOnly: true) { id } }` },
    ],
    'Query.namespace': [
      { doc: `{ namespace(id: "vault") { id description variables inheritedVariables } }` },
      { doc: `query($asOf: DateTime) { namespace(id: "vault", asOf: $asOf) { id description variables } }`, vars: { asOf: now } },
    ],
    'Mutation.createNamespace': [{ doc: `mutation { createNamespace(input: {id: "vault.pwned"}) { id } }` }],
    'Mutation.updateNamespace': [
      { doc: `mutation { updateNamespace(id: "vault", input: {description: "pwned"}) { id description variables } }` },
    ],
    'Mutation.deleteNamespace': [{ doc: `mutation { deleteNamespace(id: "vault", force: true) { id description } }` }],
    'Query.deleteNamespaceDryRun': [
      {
        doc: `{ deleteNamespaceDryRun(id: "vault", force: true, includeChildren: true) { namespaces { id } flows { id } secrets { key } bindings { id } refusal } }`,
      },
    ],
    'Mutation.restoreNamespace': [{ doc: `mutation { restoreNamespace(id: "vault") { id description variables } }` }],
    'Mutation.setNamespaceVariable': [{ doc: `mutation { setNamespaceVariable(id: "vault", key: "k", value: "pwned") { id variables } }` }],
    'Mutation.unsetNamespaceVariable': [{ doc: `mutation { unsetNamespaceVariable(id: "vault", key: "key") { id variables } }` }],
    'Mutation.setNamespacePluginDefault': [
      { doc: `mutation { setNamespacePluginDefault(id: "vault", pluginDefault: {type: "io.kestra", values: {a: 1}}) { id variables } }` },
    ],
    'Mutation.unsetNamespacePluginDefault': [
      { doc: `mutation { unsetNamespacePluginDefault(id: "vault", type: "io.kestra") { id variables } }` },
    ],
    'Mutation.setNamespaceDefaultAuthentication': [
      {
        doc: `mutation { setNamespaceDefaultAuthentication(id: "vault", input: {provider: "aws", secretRefs: {accessKeyId: "K"}}) { id variables defaultAuthentications { provider } } }`,
      },
    ],
    'Mutation.unsetNamespaceDefaultAuthentication': [
      {
        doc: `mutation { unsetNamespaceDefaultAuthentication(id: "vault", provider: "aws") { id variables defaultAuthentications { provider } } }`,
      },
    ],
    'Query.mayUseNamespace': [{ doc: `{ mayUseNamespace(from: "elsewhere", to: "vault") { allowed rule revision } }` }],
    'Query.resolvedFlow': [
      {
        doc: `{ resolvedFlow(namespace: "vault", id: "victim-flow") { variables { key value } plugins { properties } references { name } } }`,
      },
    ],
    'Query.validateFlow': [
      {
        doc: `{ validateFlow(source: "id: x\\nnamespace: vault\\ntasks:\\n  - id: a\\n    type: io.kestra.Log\\n    m: \\"{{ namespace.key }}\\"\\n") { valid problems { message } resolved { variables { key value } } } }`,
      },
    ],
    'Mutation.restoreFlow': [{ doc: `mutation { restoreFlow(namespace: "vault", id: "victim-flow") { id source } }` }],
    // --- flows
    'Query.flows': [
      {
        doc: `{ flows(first: 100) { totalCount edges { cursor node { id namespace source description } } pageInfo { hasNextPage endCursor } } }`,
      },
      { doc: `{ flows(namespace: "vault", includeChildren: true, query: "victim") { totalCount edges { node { id source } } } }` },
    ],
    'Query.flow': [
      { doc: `{ flow(namespace: "vault", id: "victim-flow") { id source description revisions { revision updatedBy } } }` },
      { doc: `query($asOf: DateTime) { flow(namespace: "vault", id: "victim-flow", asOf: $asOf) { id source } }`, vars: { asOf: now } },
      { doc: `{ flow(namespace: "vault", id: "victim-flow", revision: 1) { id source } }` },
    ],
    'Mutation.createFlow': [
      { doc: `mutation($s: String!) { createFlow(source: $s) { id source } }`, vars: { s: flowYaml('pwned-flow', 'pwned') } },
    ],
    'Mutation.updateFlow': [
      {
        doc: `mutation($s: String!) { updateFlow(namespace: "vault", id: "victim-flow", source: $s) { id source } }`,
        vars: { s: flowYaml('victim-flow', 'pwned') },
      },
    ],
    'Mutation.deleteFlow': [{ doc: `mutation { deleteFlow(namespace: "vault", id: "victim-flow") { id source } }` }],
    'Mutation.restoreFlowRevision': [
      { doc: `mutation { restoreFlowRevision(namespace: "vault", id: "victim-flow", revision: 1) { id source } }` },
    ],
    // --- secrets
    'Query.secrets': [
      { doc: `{ secrets(namespace: "vault.deep", includeInherited: true) { namespace key description tags { key value } version } }` },
    ],
    'Mutation.putSecret': [
      { doc: `mutation { putSecret(input: {namespace: "vault", key: "VICTIM_KEY", value: "pwned"}) { key description version } }` },
    ],
    'Mutation.deleteSecret': [{ doc: `mutation { deleteSecret(namespace: "vault", key: "VICTIM_KEY") }` }],
    // --- audit
    'Query.auditLogs': [
      { doc: `{ auditLogs(first: 500) { totalCount edges { node { tenantId resourceType resourceId changes actor { id } } } } }` },
      { doc: `{ auditLogs(filter: {namespace: "vault"}) { totalCount edges { node { resourceId changes } } } }` },
    ],
    'Query.verifyAuditLog': [
      { doc: `{ verifyAuditLog { ok tenantId checkedEntries lastHash } }` },
      { doc: `{ verifyAuditLog(full: true) { ok tenantId checkedEntries lastHash } }` },
    ],
    'Mutation.startAuditVerification': [{ doc: `mutation { startAuditVerification { id tenantId status checkedEntries totalEntries } }` }],
    'Query.auditVerificationJob': [
      { doc: `query($id: ID!) { auditVerificationJob(id: $id) { id tenantId status result { ok } } }`, vars: { id: v.jobId } },
    ],
    'Query.auditVerificationJobs': [{ doc: `{ auditVerificationJobs { id tenantId status } }` }],
    'Query.auditCheckpoints': [{ doc: `{ auditCheckpoints { tenantId size rootHash signature } }` }],
    'Mutation.signAuditCheckpoint': [{ doc: `mutation { signAuditCheckpoint { tenantId size rootHash } }` }],
    'Query.auditConsistencyProof': [{ doc: `{ auditConsistencyProof(fromSize: 1) { tenantId toSize fromRoot toRoot proof } }` }],
    'Query.auditInclusionProof': [{ doc: `{ auditInclusionProof(position: "1") { tenantId leafIndex leafHash proof } }` }],
    'Query.auditSigningKeys': [{ doc: `{ auditSigningKeys { keyId publicKeyPem current } }` }],
    // --- access control
    'Query.roles': [{ doc: `{ roles { id name description managed permissions { resource actions } } }` }],
    'Query.role': [
      { doc: `{ role(id: "victim-role") { id name description permissions { resource actions } } }` },
      { doc: `query($asOf: DateTime) { role(id: "victim-role", asOf: $asOf) { id name description } }`, vars: { asOf: now } },
    ],
    'Mutation.createRole': [
      { doc: `mutation { createRole(input: {id: "pwned-role", permissions: [{resource: "FLOW", actions: ["VIEW"]}]}) { id } }` },
    ],
    'Mutation.updateRole': [
      {
        doc: `mutation { updateRole(id: "victim-role", input: {permissions: [{resource: "SECRET", actions: ["VIEW", "LIST", "UPDATE"]}]}) { id name } }`,
      },
    ],
    'Mutation.deleteRole': [{ doc: `mutation { deleteRole(id: "victim-role") }` }],
    'Query.bindings': [
      { doc: `{ bindings { id principalType principalId roleId namespace } }` },
      { doc: `{ bindings(principalId: "victim-user", roleId: "victim-role", namespace: "vault") { id } }` },
    ],
    'Mutation.createBinding': [
      { doc: `mutation { createBinding(input: {principalType: USER, principalId: "mallory", roleId: "admin"}) { id } }` },
      {
        doc: `mutation { createBinding(input: {principalType: USER, principalId: "mallory", roleId: "victim-role", namespace: "vault"}) { id } }`,
      },
    ],
    'Mutation.deleteBinding': [{ doc: `mutation($id: ID!) { deleteBinding(id: $id) }`, vars: { id: v.bindingId } }],
    'Query.groups': [{ doc: `{ groups { id name description members } }` }],
    'Query.group': [{ doc: `{ group(id: "victim-group") { id name description members } }` }],
    'Mutation.createGroup': [{ doc: `mutation { createGroup(input: {id: "pwned-group"}) { id } }` }],
    'Mutation.updateGroup': [
      { doc: `mutation { updateGroup(id: "victim-group", input: {name: "pwned"}) { id name description members } }` },
    ],
    'Mutation.disableGroup': [{ doc: `mutation { disableGroup(id: "victim-group") { id name members } }` }],
    'Mutation.enableGroup': [{ doc: `mutation { enableGroup(id: "victim-group") { id name members } }` }],
    'Mutation.deleteGroup': [{ doc: `mutation { deleteGroup(id: "victim-group") }` }],
    'Mutation.addGroupMember': [{ doc: `mutation { addGroupMember(groupId: "victim-group", userId: "mallory") { id name members } }` }],
    'Mutation.removeGroupMember': [
      { doc: `mutation { removeGroupMember(groupId: "victim-group", userId: "victim-user") { id name members } }` },
    ],
    'Query.serviceAccounts': [{ doc: `{ serviceAccounts { id name description } }` }],
    'Query.serviceAccount': [{ doc: `{ serviceAccount(id: "victim-bot") { id name description } }` }],
    'Mutation.createServiceAccount': [{ doc: `mutation { createServiceAccount(input: {id: "pwned-bot"}) { id } }` }],
    'Mutation.deleteServiceAccount': [{ doc: `mutation { deleteServiceAccount(id: "victim-bot") }` }],
    'Mutation.updateServiceAccount': [
      { doc: `mutation { updateServiceAccount(id: "victim-bot", input: {name: "pwned"}) { id name description } }` },
    ],
    'Mutation.disableServiceAccount': [{ doc: `mutation { disableServiceAccount(id: "victim-bot") { id name description } }` }],
    'Mutation.enableServiceAccount': [{ doc: `mutation { enableServiceAccount(id: "victim-bot") { id name description } }` }],
    'Query.apiTokens': [
      { doc: `{ apiTokens { id name principalType principalId } }`, ownData: true },
      { doc: `{ apiTokens(principalId: "victim-bot") { id } }`, ownData: true },
    ],
    'Mutation.createApiToken': [
      { doc: `mutation { createApiToken(input: {principalId: "victim-bot", name: "pwned"}) { id token } }` },
      {
        doc: `mutation { createApiToken(input: {principalId: "victim-bot", name: "pwned", principalType: SERVICE_ACCOUNT}) { id token } }`,
      },
      { doc: `mutation { createApiToken(input: {principalId: "victim-user", name: "pwned", principalType: USER}) { id token } }` },
    ],
    'Mutation.revokeApiToken': [
      { doc: `mutation($id: ID!) { revokeApiToken(id: $id) }`, vars: { id: v.saTokenId } },
      { doc: `mutation($id: ID!) { revokeApiToken(id: $id) }`, vars: { id: v.userTokenId } },
    ],
    'Query.effectivePermissions': [
      { doc: `{ effectivePermissions(principalId: "victim-user") { resource action namespace via } }` },
      {
        doc: `query($asOf: DateTime) { effectivePermissions(principalId: "victim-group", namespace: "vault", asOf: $asOf) { resource via } }`,
        vars: { asOf: now },
      },
      { doc: `{ effectivePermissions(principalId: "victim-bot", principalType: SERVICE_ACCOUNT) { resource via } }` },
    ],
  };
}

const INSTANCE_FIELDS = new Set([
  'me',
  'tenants',
  'tenant',
  'users',
  'createTenant',
  'updateTenant',
  'deleteTenant',
  'restoreTenant',
  'createUser',
  'apiTokens',
  'createApiToken',
  'revokeApiToken',
]);

/** Every `Type.field` of Query and Mutation in the built schema. */
function operations(built: GraphQLSchema): string[] {
  const query = Object.keys(built.getQueryType()?.getFields() ?? {}).map((f) => `Query.${f}`);
  const mutation = Object.keys(built.getMutationType()?.getFields() ?? {}).map((f) => `Mutation.${f}`);
  return [...query, ...mutation];
}

/** null, false, 0, '' and [] are empty; an object is empty when all its values are. */
function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === 0 || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.values(value).every(isEmpty);
  return false;
}

interface Attacker {
  name: string;
  token: string | null;
  /** A principal with some rights in the victim tenant (but none on `vault` or access control): its queries may return data. */
  partlyBound?: boolean;
}

describe('adversarial access control: every query and mutation, callers without rights', () => {
  let gw: TestGateway;
  let built: GraphQLSchema;
  let victim: Victim;
  let table: Record<string, Case[]>;
  let markers: string[];
  const attackers: Attacker[] = [];

  beforeAll(async () => {
    // The anonymous caller sends hundreds of requests from this one address within a minute: this suite judges
    // authorization, so the failed-authentication budget (security-anonymous.e2e.spec.ts) is raised out of its way.
    gw = await startTestGateway({ env: { TENANTRY_AUTH_FAILURE_LIMIT_PER_MINUTE: '100000' } });
    built = await schema();
    const asVictimAdmin = async (doc: string, vars: Record<string, unknown> = {}) =>
      expectData(await gw.gql(doc, vars, { tenant: VICTIM }));

    // The victim tenant, administered by the bootstrap admin, with data of every kind.
    expectData(
      await gw.gql(`mutation($n: String!) { createTenant(input: {id: "${VICTIM}", name: $n, adminUserId: "admin"}) { id } }`, {
        n: M.tenantName,
      }),
    );
    expectData(await gw.gql(`mutation($e: String!) { createUser(input: {id: "victim-user", email: $e}) { id } }`, { e: M.memberEmail }));
    await asVictimAdmin(`mutation($d: String) { createNamespace(input: {id: "vault", description: $d}) { id } }`, { d: M.nsDescription });
    await asVictimAdmin(`mutation($v: JSON) { updateNamespace(id: "vault", input: {variables: $v}) { id } }`, { v: { key: M.nsVariable } });
    await asVictimAdmin(`mutation { createNamespace(input: {id: "vault.deep"}) { id } }`);
    await asVictimAdmin(`mutation { createNamespace(input: {id: "public"}) { id } }`);
    await asVictimAdmin(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: flowYaml('victim-flow', M.flowMessage) });
    await asVictimAdmin(
      `mutation($v: String!, $d: String) { putSecret(input: {namespace: "vault", key: "VICTIM_KEY", value: $v, description: $d}) { key } }`,
      {
        v: M.secretValue,
        d: M.secretDescription,
      },
    );
    await asVictimAdmin(
      `mutation($n: String, $d: String) { createRole(input: {id: "victim-role", name: $n, description: $d, permissions: [{resource: "FLOW", actions: ["VIEW", "LIST"]}]}) { id } }`,
      {
        n: M.roleName,
        d: M.roleDescription,
      },
    );
    await asVictimAdmin(`mutation($n: String, $d: String) { createGroup(input: {id: "victim-group", name: $n, description: $d}) { id } }`, {
      n: M.groupName,
      d: M.groupDescription,
    });
    await asVictimAdmin(`mutation { addGroupMember(groupId: "victim-group", userId: "victim-user") { id } }`);
    const bindingId = await bind(gw, VICTIM, {
      principalType: 'GROUP',
      principalId: 'victim-group',
      roleId: 'victim-role',
      namespace: 'vault',
    });
    await asVictimAdmin(
      `mutation($n: String, $d: String) { createServiceAccount(input: {id: "victim-bot", name: $n, description: $d}) { id } }`,
      { n: M.saName, d: M.saDescription },
    );
    const sa = expectData(
      await gw.gql<{ createApiToken: { id: string; token: string } }>(
        `mutation { createApiToken(input: {principalId: "victim-bot", name: "deploy"}) { id token } }`,
        {},
        { tenant: VICTIM },
      ),
    ).createApiToken;
    await bind(gw, VICTIM, { principalType: 'SERVICE_ACCOUNT', principalId: 'victim-bot', roleId: 'developer' });
    const memberToken = await userToken(gw, 'victim-user');
    const jobId = expectData(
      await gw.gql<{ startAuditVerification: { id: string } }>(`mutation { startAuditVerification { id } }`, {}, { tenant: VICTIM }),
    ).startAuditVerification.id;
    victim = { bindingId, jobId, saTokenId: sa.id, saToken: sa.token, userTokenId: memberToken.slice(4, 40), userToken: memberToken };

    // The attackers.
    const outsider = await createUserWithToken(gw, 'outsider');
    const mallory = await createUserWithToken(gw, 'mallory');
    await createTenant(gw, ATTACKER, 'mallory');
    const intruder = await serviceAccountToken(gw, ATTACKER, 'intruder', mallory);
    await bind(gw, ATTACKER, { principalType: 'SERVICE_ACCOUNT', principalId: 'intruder', roleId: 'admin' }, mallory);
    const viewer = await createUserWithToken(gw, 'peeker');
    await bind(gw, VICTIM, { principalType: 'USER', principalId: 'peeker', roleId: 'viewer', namespace: 'public' });
    attackers.push(
      { name: 'a user with no bindings anywhere', token: outsider },
      { name: 'the admin of another tenant', token: mallory },
      { name: 'a service account token of another tenant (admin there)', token: intruder.token },
      { name: 'a viewer of the victim bound on another namespace only', token: viewer, partlyBound: true },
      { name: 'an anonymous caller', token: null },
    );
    table = cases(victim, new Date().toISOString());
    markers = [
      ...Object.values(M),
      victim.bindingId,
      victim.jobId,
      victim.saTokenId,
      victim.saToken,
      victim.userTokenId,
      victim.userToken,
      victim.saToken.slice(41),
      victim.userToken.slice(41),
    ];
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('has a valid case for every query and mutation of the schema', () => {
    const missing = operations(built).filter((op) => !table[op]?.length);
    expect(missing, 'operations without an adversarial case: add them to cases() in this file').toEqual([]);
    for (const [op, list] of Object.entries(table)) {
      for (const c of list)
        expect(
          validate(built, parse(c.doc)).map((e) => e.message),
          `${op}: ${c.doc}`,
        ).toEqual([]);
    }
  });

  /** Victim strings in the answer that the caller did not send itself. A caller bound in the victim may know the tenant's name. */
  const leaks = (op: string, c: Case, result: GqlResult, attacker: Attacker): string[] => {
    const request = `${c.doc} ${JSON.stringify(c.vars ?? {})}`;
    const body = JSON.stringify({ data: result.data, errors: result.errors });
    const hidden = attacker.partlyBound ? markers.filter((m) => m !== M.tenantName) : markers;
    return hidden.filter((m) => !request.includes(m) && body.includes(m)).map((m) => `${op}: leaked ${m} in ${body.slice(0, 300)}`);
  };

  /** What is wrong with one answer on the victim tenant's endpoint or the instance endpoint. */
  function problems(op: string, c: Case, result: GqlResult, attacker: Attacker, before: number, after: number): string[] {
    const found = leaks(op, c, result, attacker);
    if (after !== before) found.push(`${op}: the log grew by ${after - before} event(s)`);
    const code = result.errors?.[0]?.extensions.code;
    if (result.errors?.[0]?.extensions['reason'] === 'GRAPHQL_VALIDATION_FAILED')
      found.push(`${op}: invalid test document: ${result.errors[0]?.message}`);
    else if (code !== undefined && !ALLOWED.has(code)) found.push(`${op}: answered ${code} (${result.errors?.[0]?.message ?? ''})`);
    const mayHaveData = c.ownData || (attacker.partlyBound && op.startsWith('Query.'));
    if (code === undefined && !mayHaveData && !isEmpty(result.data))
      found.push(`${op}: answered data ${JSON.stringify(result.data).slice(0, 200)}`);
    return found;
  }

  async function attack(
    attacker: Attacker,
    tenant: string | null,
    judge: (op: string, c: Case, result: GqlResult, before: number, after: number) => string[],
  ) {
    const found: string[] = [];
    for (const op of operations(built)) {
      for (const c of table[op] ?? []) {
        const before = await gw.eventCount();
        const result = await gw.gql(c.doc, c.vars ?? {}, { tenant, token: attacker.token });
        found.push(...judge(op, c, result, before, await gw.eventCount()));
      }
    }
    return found;
  }

  for (const index of [0, 1, 2, 3, 4]) {
    it(`caller #${index + 1} gets nothing from the victim's endpoint and writes nothing`, async () => {
      const attacker = attackers[index];
      if (!attacker) throw new Error('attacker not set up');
      const found = await attack(attacker, VICTIM, (op, c, r, b, a) => problems(op, c, r, attacker, b, a));
      expect(found, attacker.name).toEqual([]);
    });

    it(`caller #${index + 1} gets nothing from the instance endpoint and writes nothing`, async () => {
      const attacker = attackers[index];
      if (!attacker) throw new Error('attacker not set up');
      const found = await attack(attacker, null, (op, c, r, b, a) => {
        // Instance-level operations are judged as usual; tenant-level ones have no tenant here and must answer no data at all.
        if (INSTANCE_FIELDS.has(op.split('.')[1] ?? '')) return problems(op, c, r, attacker, b, a);
        return problems(op, { ...c, ownData: false }, r, { ...attacker, partlyBound: false }, b, a);
      });
      expect(found, attacker.name).toEqual([]);
    });
  }

  it("admins of another tenant, using the victim's ids in their own tenant, reach nothing of the victim", async () => {
    const victimEvents = async () => (await gw.app.events.readAll({ streamPrefix: `${VICTIM}/`, maxCount: 1_000_000 })).length;
    const instanceEvents = async () => (await gw.app.events.readAll({ streamPrefix: '_instance/', maxCount: 1_000_000 })).length;
    for (const attacker of attackers.slice(1, 3)) {
      const victimBefore = await victimEvents();
      const instanceBefore = await instanceEvents();
      const found = await attack(attacker, ATTACKER, (op, c, r) => leaks(op, c, r, attacker));
      expect(found, attacker.name).toEqual([]);
      expect(await victimEvents(), attacker.name).toBe(victimBefore);
      expect(await instanceEvents(), attacker.name).toBe(instanceBefore);
    }
  });

  it('the victim is intact: its admin still sees everything, its tokens still work', async () => {
    const data = expectData(
      await gw.gql<{
        flow: { source: string };
        group: { members: string[] };
        bindings: { id: string }[];
        role: { permissions: { resource: string }[] };
      }>(
        `{ flow(namespace: "vault", id: "victim-flow") { source } group(id: "victim-group") { members } bindings { id } role(id: "victim-role") { permissions { resource } } }`,
        {},
        { tenant: VICTIM },
      ),
    );
    expect(data.flow.source).toContain(M.flowMessage);
    expect(data.group.members).toEqual(['victim-user']);
    expect(data.bindings.map((b) => b.id)).toContain(victim.bindingId);
    expect(data.role.permissions).toEqual([{ resource: 'FLOW' }]);
    expectData(await gw.gql(`{ flows { totalCount } }`, {}, { tenant: VICTIM, token: victim.saToken }));
    expectData(await gw.gql(`{ me { id } }`, {}, { token: victim.userToken }));
  });
});
