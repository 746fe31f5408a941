import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';
import { eventually } from '../support/eventually.js';

interface Entry {
  id: string;
  position: string;
  eventType: string;
  resourceId: string;
  tenantId: string;
  namespace: string | null;
}

const SUBSCRIPTION = `subscription($filter: AuditLogFilter, $after: Position) {
  auditLogAppended(filter: $filter, afterPosition: $after) { id position eventType resourceId tenantId namespace }
}`;

interface Subscribed {
  received: Entry[];
  errors: { message: string; extensions?: Record<string, unknown> }[];
  /** Resolves once at least `count` entries arrived (fails after a few seconds). */
  until(count: number): Promise<Entry[]>;
  /** Resolves when the server ended the subscription. */
  ended: Promise<void>;
}

describe('auditLogAppended over graphql-ws (real WebSocket)', () => {
  let gw: TestGateway;
  const clients: Client[] = [];

  const connect = (tenant: string | null, token: string | null = ADMIN_TOKEN): Client => {
    const client = createClient({
      url: `${gw.url.replace(/^http/, 'ws')}/api/v1/${tenant ? `${tenant}/` : ''}graphql`,
      webSocketImpl: WebSocket,
      connectionParams: token ? { authorization: `Bearer ${token}` } : {},
      retryAttempts: 0,
    });
    clients.push(client);
    return client;
  };

  const subscribe = (client: Client, variables: Record<string, unknown>): Subscribed => {
    const received: Entry[] = [];
    const errors: Subscribed['errors'] = [];
    const iterator = client.iterate<{ auditLogAppended: Entry }>({ query: SUBSCRIPTION, variables });
    const ended = (async () => {
      try {
        for await (const result of iterator) {
          if (result.errors) errors.push(...(result.errors as Subscribed['errors']));
          else if (result.data) received.push(result.data.auditLogAppended);
        }
      } catch (error) {
        errors.push({ message: String((error as { reason?: string }).reason ?? error) });
      }
    })();
    return {
      received,
      errors,
      ended,
      until: (count) =>
        eventually(() => (received.length >= count ? received.slice() : undefined), `${count} entries (got ${received.length})`),
    };
  };

  const createNamespaces = async (tenant: string, ids: string[]): Promise<void> => {
    for (const id of ids) expectData(await gw.gql(`mutation($id: ID!) { createNamespace(input: {id: $id}) { id } }`, { id }, { tenant }));
  };

  /** The audit entries of a tenant after a position, oldest first, from the query API. */
  const entriesAfter = async (tenant: string, position: string): Promise<Entry[]> => {
    const data = expectData(
      await gw.gql<{ auditLogs: { edges: { node: Entry }[] } }>(
        `{ auditLogs(first: 500) { edges { node { id position eventType resourceId tenantId namespace } } } }`,
        {},
        { tenant },
      ),
    );
    return data.auditLogs.edges
      .map((e) => e.node)
      .filter((e) => Number(e.position) > Number(position))
      .reverse();
  };

  const head = async (): Promise<string> => String(await gw.app.events.headPosition());

  beforeAll(async () => {
    gw = await startTestGateway();
    expectData(await gw.gql(`mutation { createTenant(input: {id: "acme", name: "Acme", adminUserId: "admin"}) { id } }`));
    expectData(await gw.gql(`mutation { createTenant(input: {id: "nobody", name: "No admin"}) { id } }`));
  });

  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await gw.dispose();
  });

  it('receives entries live, in order, once each', async () => {
    const start = await head();
    const live = subscribe(connect('acme'), { after: start });
    await createNamespaces('acme', ['live.a', 'live.b', 'live.c']);
    const got = await live.until(3);
    expect(got.map((e) => e.resourceId)).toEqual(['live.a', 'live.b', 'live.c']);
    expect(got).toEqual(await entriesAfter('acme', start));
    expect(live.errors).toEqual([]);
  });

  it('without afterPosition it follows from now on', async () => {
    const live = subscribe(connect('acme'), {});
    // It starts at the position applied when the server gets the subscription: write until something arrives.
    const written: string[] = [];
    for (let i = 0; live.received.length === 0; i++) {
      if (i > 100) throw new Error('the subscription never delivered anything');
      written.push(`now.a${i}`);
      await createNamespaces('acme', [written.at(-1) ?? '']);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await createNamespaces('acme', ['now.b', 'now.c']);
    written.push('now.b', 'now.c');
    const got = (await live.until(written.length - written.indexOf(live.received[0]?.resourceId ?? ''))).map((e) => e.resourceId);
    // A suffix of what was written, in order, each once, ending with the last two.
    expect(got).toEqual(written.slice(written.indexOf(got[0] ?? '')));
    expect(got.slice(-2)).toEqual(['now.b', 'now.c']);
  });

  it('after a disconnect, resuming from the last position seen delivers exactly what was missed, then live ones', async () => {
    const start = await head();
    const first = connect('acme');
    const before = subscribe(first, { after: start });
    await createNamespaces('acme', ['resume.a', 'resume.b']);
    const seen = await before.until(2);
    await first.dispose();
    await before.ended;

    await createNamespaces('acme', ['resume.c', 'resume.d', 'resume.e']);
    expectData(await gw.gql(`mutation { updateNamespace(id: "resume.c", input: {description: "missed"}) { id } }`, {}, { tenant: 'acme' }));
    const lastSeen = seen.at(-1)?.position ?? start;
    const missed = await entriesAfter('acme', lastSeen);
    expect(missed.map((e) => e.resourceId)).toEqual(['resume.c', 'resume.d', 'resume.e', 'resume.c']);

    const resumed = subscribe(connect('acme'), { after: lastSeen });
    expect(await resumed.until(missed.length)).toEqual(missed);
    await createNamespaces('acme', ['resume.f']);
    const all = await resumed.until(missed.length + 1);
    expect(all.at(-1)?.resourceId).toBe('resume.f');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(resumed.received).toHaveLength(missed.length + 1);
    expect(new Set([...seen, ...resumed.received].map((e) => e.position)).size).toBe(seen.length + resumed.received.length);
    expect([...seen, ...resumed.received]).toEqual(await entriesAfter('acme', start));
  });

  it('applies the filter and stays within its tenant', async () => {
    const start = await head();
    const filtered = subscribe(connect('acme'), { after: start, filter: { namespace: 'team', action: 'CREATE' } });
    const other = subscribe(connect('main'), { after: start });
    await createNamespaces('acme', ['outside', 'team', 'team.sub', 'teammate']);
    await createNamespaces('main', ['main.only']);
    expect((await filtered.until(2)).map((e) => e.resourceId)).toEqual(['team', 'team.sub']);
    expect((await other.until(1)).map((e) => [e.tenantId, e.resourceId])).toEqual([['main', 'main.only']]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(filtered.received).toHaveLength(2);
    expect(other.received).toHaveLength(1);
  });

  it('is permission-checked: anonymous, without AUDITLOG:LIST, and an unknown token are refused', async () => {
    const anonymous = subscribe(connect('acme', null), {});
    await anonymous.ended;
    // Without a token the connection itself is refused, as with an unknown token (HTTP answers 401).
    expect(anonymous.errors[0]?.message).toMatch(/Forbidden/);
    expect(anonymous.received).toEqual([]);
    const forbidden = subscribe(connect('nobody'), {});
    await forbidden.ended;
    expect(forbidden.errors[0]?.extensions).toMatchObject({ code: 'FORBIDDEN', permission: 'AUDITLOG:LIST' });
    const unknown = subscribe(connect('acme', 'not-a-token'), {});
    await unknown.ended;
    expect(unknown.errors[0]?.message).toMatch(/Forbidden/);
    expect(unknown.received).toEqual([]);
  });
});
