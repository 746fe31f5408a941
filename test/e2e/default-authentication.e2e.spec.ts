/**
 * Namespace default authentication (Kestra EE's, for SDK-based plugins): a
 * namespace names, per cloud provider, a service account and/or the KEYS of
 * namespace secrets; tasks of that provider's plugins in the subtree use the
 * nearest one. Never a raw credential: anything that looks like one is
 * refused and nothing is stored. resolvedFlow and validateFlow show which
 * entry applies to each task and report a missing secret or service account.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bind, createTenant, createUserWithToken } from '../support/access.js';
import { expectData, startTestGateway, type GqlResult, type TestGateway } from '../support/gateway.js';

const T = { tenant: 'cloud' };

const SOURCE = `id: etl
namespace: company.team
tasks:
  - id: upload
    type: io.kestra.plugin.aws.s3.Upload
    bucket: data
  - id: gcs
    type: io.kestra.plugin.gcp.gcs.Upload
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: done
`;

const SET = `mutation($id: ID!, $input: DefaultAuthenticationInput!, $rev: Int) {
  setNamespaceDefaultAuthentication(id: $id, input: $input, expectedRevision: $rev) {
    revision defaultAuthentications { provider pluginType serviceAccountId secretRefs }
  }
}`;
const UNSET = `mutation($id: ID!, $provider: String!, $rev: Int) {
  unsetNamespaceDefaultAuthentication(id: $id, provider: $provider, expectedRevision: $rev) { revision defaultAuthentications { provider } }
}`;
const RESOLVED = `{
  resolvedFlow(namespace: "company.team", id: "etl") {
    plugins { id defaultAuthentication { provider pluginType namespace serviceAccountId serviceAccountStatus secretRefs { field key status namespace } } }
    problems { code message path }
  }
}`;

interface Auth {
  provider: string;
  namespace: string;
  serviceAccountId: string | null;
  serviceAccountStatus: string | null;
  secretRefs: { field: string; key: string; status: string; namespace: string | null }[];
}
interface Resolved {
  plugins: { id: string; defaultAuthentication: Auth | null }[];
  problems: { code: string; message: string; path: string }[];
}

describe('namespace default authentication', () => {
  let gw: TestGateway;

  async function revisionOf(id: string): Promise<number> {
    return expectData(await gw.gql<{ namespace: { revision: number } }>(`query($id: ID!) { namespace(id: $id) { revision } }`, { id }, T))
      .namespace.revision;
  }

  async function resolved(): Promise<Resolved> {
    return expectData(await gw.gql<{ resolvedFlow: Resolved }>(RESOLVED, {}, T)).resolvedFlow;
  }

  /** A refused request: the code, not one event written, and the request's values nowhere in the answer. */
  async function refused(code: string, run: () => Promise<GqlResult<unknown>>, hidden: string[] = []): Promise<GqlResult<unknown>> {
    const before = await gw.eventCount();
    const result = await run();
    expect(result.errors?.[0]?.extensions.code, JSON.stringify(result.errors)).toBe(code);
    expect(await gw.eventCount()).toBe(before);
    const body = JSON.stringify(result);
    for (const value of hidden) expect(body).not.toContain(value);
    return result;
  }

  beforeAll(async () => {
    gw = await startTestGateway();
    await createTenant(gw, 'cloud');
    for (const id of ['company', 'company.team'])
      expectData(await gw.gql(`mutation($id: ID!) { createNamespace(input: {id: $id}) { id } }`, { id }, T));
    expectData(await gw.gql(`mutation { createServiceAccount(input: {id: "deployer"}) { id } }`, {}, T));
    await bind(gw, 'cloud', { principalType: 'SERVICE_ACCOUNT', principalId: 'deployer', roleId: 'developer' });
    for (const key of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
      expectData(
        await gw.gql(`mutation($key: String!) { putSecret(input: {namespace: "company", key: $key, value: "x"}) { key } }`, { key }, T),
      );
    }
    expectData(await gw.gql(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: SOURCE }, T));
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it('sets one provider with a service account and secret keys (audited); the plugin prefix is derived', async () => {
    const revision = await revisionOf('company');
    const input = {
      provider: 'aws',
      serviceAccountId: 'deployer',
      secretRefs: { accessKeyId: 'AWS_ACCESS_KEY_ID', secretKeyId: 'AWS_SECRET_ACCESS_KEY' },
    };
    const set = expectData(
      await gw.gql<{ setNamespaceDefaultAuthentication: { revision: number; defaultAuthentications: unknown[] } }>(
        SET,
        { id: 'company', input, rev: revision },
        T,
      ),
    ).setNamespaceDefaultAuthentication;
    expect(set.revision).toBe(revision + 1);
    expect(set.defaultAuthentications).toEqual([
      { provider: 'aws', pluginType: 'io.kestra.plugin.aws', serviceAccountId: 'deployer', secretRefs: input.secretRefs },
    ]);
    const audit = expectData(
      await gw.gql<{
        auditLogs: { edges: { node: { eventType: string; changes: Record<string, { before: unknown; after: unknown }> } }[] };
      }>(
        `{ auditLogs(filter: {resourceType: "NAMESPACE", resourceId: "company", action: "UPDATE"}, first: 1) { edges { node { eventType changes } } } }`,
        {},
        T,
      ),
    ).auditLogs.edges[0]?.node;
    expect(audit?.eventType).toBe('NamespaceUpdated');
    expect(audit?.changes['defaultAuthentications']).toEqual({ before: [], after: set.defaultAuthentications });
  });

  it('refuses raw credentials, unknown service accounts, stale revisions and callers without rights, storing nothing', async () => {
    const raw = [
      'AKIAIOSFODNN7EXAMPLE',
      'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----',
      '{"type": "service_account", "private_key": "x"}',
      'AIzaSyA1234567890abcdefghijklmnopqrstuv',
      'p@ssw0rd!',
    ];
    for (const value of raw) {
      const result = await refused(
        'BAD_USER_INPUT',
        () => gw.gql(SET, { id: 'company', input: { provider: 'aws', secretRefs: { secretKeyId: value } } }, T),
        [value],
      );
      expect(result.errors?.[0]?.extensions).toMatchObject({ field: 'secretRefs.secretKeyId', reason: 'RAW_CREDENTIAL' });
    }
    // Not a map of strings, no reference at all, a bad provider, a service account that does not exist.
    await refused('BAD_USER_INPUT', () =>
      gw.gql(SET, { id: 'company', input: { provider: 'aws', secretRefs: { key: { nested: 'x' } } } }, T),
    );
    await refused('BAD_USER_INPUT', () => gw.gql(SET, { id: 'company', input: { provider: 'aws' } }, T));
    await refused('BAD_USER_INPUT', () => gw.gql(SET, { id: 'company', input: { provider: 'AWS S3', serviceAccountId: 'deployer' } }, T));
    const missing = await refused('BAD_USER_INPUT', () =>
      gw.gql(SET, { id: 'company', input: { provider: 'gcp', serviceAccountId: 'ghost' } }, T),
    );
    expect(missing.errors?.[0]?.extensions['field']).toBe('serviceAccountId');
    const stale = await refused('CONFLICT', () =>
      gw.gql(SET, { id: 'company', input: { provider: 'gcp', secretRefs: { k: 'GCP_KEY' } }, rev: 1 }, T),
    );
    expect(stale.errors?.[0]?.extensions['actualRevision']).toBe(await revisionOf('company'));
    await refused('NOT_FOUND', () => gw.gql(SET, { id: 'nowhere', input: { provider: 'gcp', secretRefs: { k: 'GCP_KEY' } } }, T));

    const viewer = await createUserWithToken(gw, 'vera');
    await bind(gw, 'cloud', { principalType: 'USER', principalId: 'vera', roleId: 'viewer' });
    await refused('FORBIDDEN', () =>
      gw.gql(SET, { id: 'company', input: { provider: 'gcp', secretRefs: { k: 'GCP_KEY' } } }, { ...T, token: viewer }),
    );
    await refused('FORBIDDEN', () => gw.gql(UNSET, { id: 'company', provider: 'aws' }, { ...T, token: viewer }));
    // NAMESPACE:UPDATE and SERVICE_ACCOUNT:VIEW, but not the developer rights of deployer: handing them to every flow would escalate.
    const editor = await createUserWithToken(gw, 'ned');
    expectData(
      await gw.gql(
        `mutation { createRole(input: {id: "ns-editor", permissions: [{resource: "NAMESPACE", actions: ["VIEW", "UPDATE"]}, {resource: "SERVICE_ACCOUNT", actions: ["VIEW"]}]}) { id } }`,
        {},
        T,
      ),
    );
    await bind(gw, 'cloud', { principalType: 'USER', principalId: 'ned', roleId: 'ns-editor' });
    const escalating = await refused('FORBIDDEN', () =>
      gw.gql(SET, { id: 'company', input: { provider: 'gcp', serviceAccountId: 'deployer' } }, { ...T, token: editor }),
    );
    expect(escalating.errors?.[0]?.extensions['permission']).toBe('BINDING:ESCALATE');
    // Secret keys alone hand nobody any right: NAMESPACE:UPDATE is enough.
    expectData(
      await gw.gql(
        SET,
        { id: 'company', input: { provider: 'gcp', secretRefs: { serviceAccount: 'GCP_SA_JSON' } } },
        { ...T, token: editor },
      ),
    );
  });

  it('resolvedFlow and validateFlow: per task, the nearest entry of its provider; missing secrets and service accounts are problems', async () => {
    let flow = await resolved();
    const byId = (r: Resolved, id: string) => r.plugins.find((p) => p.id === id)?.defaultAuthentication ?? null;
    expect(byId(flow, 'upload')).toEqual({
      provider: 'aws',
      pluginType: 'io.kestra.plugin.aws',
      namespace: 'company',
      serviceAccountId: 'deployer',
      serviceAccountStatus: 'FOUND',
      secretRefs: [
        { field: 'accessKeyId', key: 'AWS_ACCESS_KEY_ID', status: 'FOUND', namespace: 'company' },
        { field: 'secretKeyId', key: 'AWS_SECRET_ACCESS_KEY', status: 'FOUND', namespace: 'company' },
      ],
    });
    expect(byId(flow, 'log')).toBeNull();
    // The gcp entry set above names a secret that does not exist.
    expect(byId(flow, 'gcs')?.secretRefs).toEqual([{ field: 'serviceAccount', key: 'GCP_SA_JSON', status: 'MISSING', namespace: null }]);
    expect(flow.problems).toEqual([expect.objectContaining({ code: 'MISSING_AUTHENTICATION_SECRET', path: 'tasks[1]' })]);

    // The team's own aws entry is nearer than the company's.
    expectData(await gw.gql(SET, { id: 'company.team', input: { provider: 'aws', secretRefs: { accessKeyId: 'TEAM_AWS_KEY' } } }, T));
    flow = await resolved();
    expect(byId(flow, 'upload')).toMatchObject({ namespace: 'company.team', serviceAccountId: null, serviceAccountStatus: null });
    expect(flow.problems.map((p) => p.code).sort()).toEqual(['MISSING_AUTHENTICATION_SECRET', 'MISSING_AUTHENTICATION_SECRET']);
    const inherited = expectData(
      await gw.gql<{
        namespace: { defaultAuthentications: unknown[]; inheritedDefaultAuthentications: { provider: string; namespace: string }[] };
      }>(
        `{ namespace(id: "company.team") { defaultAuthentications { provider } inheritedDefaultAuthentications { provider namespace } } }`,
        {},
        T,
      ),
    ).namespace;
    expect(inherited.defaultAuthentications).toEqual([{ provider: 'aws' }]);
    expect(inherited.inheritedDefaultAuthentications).toEqual([
      { provider: 'aws', namespace: 'company.team' },
      { provider: 'gcp', namespace: 'company' },
    ]);
    expectData(await gw.gql(UNSET, { id: 'company.team', provider: 'aws' }, T));
    expect(byId(await resolved(), 'upload')?.namespace).toBe('company');

    // A deleted service account is a problem of every task that would use it; validateFlow says the same for an unsaved source.
    expectData(await gw.gql(`mutation { deleteServiceAccount(id: "deployer") }`, {}, T));
    flow = await resolved();
    expect(byId(flow, 'upload')?.serviceAccountStatus).toBe('MISSING');
    expect(flow.problems).toContainEqual(expect.objectContaining({ code: 'MISSING_SERVICE_ACCOUNT', path: 'tasks[0]' }));
    const validation = expectData(
      await gw.gql<{ validateFlow: { valid: boolean; problems: { code: string }[]; resolved: Resolved } }>(
        `query($s: String!) { validateFlow(source: $s) { valid problems { code } resolved { plugins { id defaultAuthentication { provider namespace serviceAccountStatus } } } } }`,
        { s: SOURCE },
        T,
      ),
    ).validateFlow;
    expect(validation.valid).toBe(false);
    expect(validation.problems.map((p) => p.code)).toContain('MISSING_SERVICE_ACCOUNT');
    expect(byId(validation.resolved, 'upload')).toEqual({ provider: 'aws', namespace: 'company', serviceAccountStatus: 'MISSING' });
  });

  it('unsetNamespaceDefaultAuthentication: stale revision refused, right one removes the entry (audited); absent changes nothing', async () => {
    const revision = await revisionOf('company');
    await refused('CONFLICT', () => gw.gql(UNSET, { id: 'company', provider: 'aws', rev: revision - 1 }, T));
    const unset = expectData(
      await gw.gql<{ unsetNamespaceDefaultAuthentication: { revision: number; defaultAuthentications: { provider: string }[] } }>(
        UNSET,
        { id: 'company', provider: 'aws', rev: revision },
        T,
      ),
    ).unsetNamespaceDefaultAuthentication;
    expect(unset).toEqual({ revision: revision + 1, defaultAuthentications: [{ provider: 'gcp' }] });
    const before = await gw.eventCount();
    expectData(await gw.gql(UNSET, { id: 'company', provider: 'aws' }, T));
    expect(await gw.eventCount()).toBe(before);
  });
});
