/**
 * Plugin defaults as Kestra applies them, over GraphQL (`resolvedFlow`):
 * type prefixes, flow-level over namespace-level, nearest namespace first,
 * forced defaults from the outermost level. The precedence table of
 * docs/namespaces.md is this test's table: every row of it is read from
 * there, checked to be the row below, and run against a gateway.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bind, createTenant, createUserWithToken } from '../support/access.js';
import { expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

const T = 'acme';
const UPLOAD = 'io.kestra.plugin.aws.s3.Upload';
/** Short names in the table: `aws` is io.kestra.plugin.aws, and so on. */
const full = (short: string): string => `io.kestra.plugin.${short}`;

/** [short type, region value, forced] */
type Default = [string, string, boolean?];
interface Row {
  rule: string;
  company: Default[];
  team: Default[];
  flow: Default[];
  task: string | null;
  region: string | null;
  /** company, company.team, flow or task; with ", forced" when a forced default decided. */
  from: string;
}

const ROWS: Row[] = [
  {
    rule: 'a prefix applies to every type under it',
    company: [['aws', 'c']],
    team: [],
    flow: [],
    task: null,
    region: 'c',
    from: 'company',
  },
  {
    rule: 'a full type applies to that type',
    company: [['aws.s3.Upload', 'c']],
    team: [],
    flow: [],
    task: null,
    region: 'c',
    from: 'company',
  },
  { rule: 'a prefix matches at a dot only', company: [['aw', 'c']], team: [], flow: [], task: null, region: null, from: '' },
  {
    rule: 'the nearest namespace first',
    company: [['aws', 'c']],
    team: [['aws', 't']],
    flow: [],
    task: null,
    region: 't',
    from: 'company.team',
  },
  {
    rule: 'the level decides before the type: a nearer prefix beats a farther full type',
    company: [['aws.s3.Upload', 'c']],
    team: [['aws', 't']],
    flow: [],
    task: null,
    region: 't',
    from: 'company.team',
  },
  {
    rule: 'within one level, the more specific type',
    company: [],
    team: [
      ['aws', 'prefix'],
      ['aws.s3.Upload', 'exact'],
    ],
    flow: [],
    task: null,
    region: 'exact',
    from: 'company.team',
  },
  {
    rule: "the flow's pluginDefaults over its namespaces'",
    company: [],
    team: [['aws.s3.Upload', 't']],
    flow: [['aws', 'f']],
    task: null,
    region: 'f',
    from: 'flow',
  },
  {
    rule: "the task's own value over every non-forced default",
    company: [['aws', 'c']],
    team: [],
    flow: [['aws.s3.Upload', 'f']],
    task: 'own',
    region: 'own',
    from: 'task',
  },
  {
    rule: "a forced default over the task's own value",
    company: [['aws', 'c', true]],
    team: [],
    flow: [],
    task: 'own',
    region: 'c',
    from: 'company, forced',
  },
  {
    rule: 'among forced defaults, the outermost level',
    company: [['aws', 'c', true]],
    team: [['aws.s3.Upload', 't', true]],
    flow: [['aws', 'f', true]],
    task: 'own',
    region: 'c',
    from: 'company, forced',
  },
  {
    rule: 'a forced default in the flow over the task and every non-forced default',
    company: [],
    team: [['aws.s3.Upload', 't']],
    flow: [['aws', 'f', true]],
    task: 'own',
    region: 'f',
    from: 'flow, forced',
  },
  {
    rule: 'a forced prefix over a non-forced full type set farther out',
    company: [['aws.s3.Upload', 'c']],
    team: [['aws', 't', true]],
    flow: [],
    task: null,
    region: 't',
    from: 'company.team, forced',
  },
];

const cell = (defaults: Default[]): string =>
  defaults.length === 0 ? '' : defaults.map(([type, value, forced]) => `\`${type}\`: ${value}${forced ? ' (forced)' : ''}`).join('; ');
const rowCells = (row: Row, i: number): string[] => [
  String(i + 1),
  row.rule,
  cell(row.company),
  cell(row.team),
  cell(row.flow),
  row.task ?? '',
  row.region ?? '(none)',
  row.from,
];

/** The table's rows in docs/namespaces.md (between its marker and the first blank line), as trimmed cells. */
function docRows(): string[][] {
  const doc = readFileSync(new URL('../../docs/namespaces.md', import.meta.url), 'utf8');
  const start = doc.indexOf('<!-- table:plugin-default-precedence -->');
  expect(start, 'docs/namespaces.md has the precedence table').toBeGreaterThan(-1);
  const lines = doc.slice(start).split('\n').slice(1);
  const table = lines.slice(lines.findIndex((l) => l.startsWith('|')));
  const rows = table.slice(
    0,
    table.findIndex((l) => !l.startsWith('|')),
  );
  return rows.slice(2).map((line) =>
    line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim().replace(/\\\|/g, '|')),
  );
}

const yamlDefaults = (defaults: Default[], indent: string): string =>
  defaults
    .map(
      ([type, value, forced]) =>
        `${indent}- type: ${full(type)}\n${indent}  forced: ${forced ? 'true' : 'false'}\n${indent}  values:\n${indent}    region: ${value}\n`,
    )
    .join('');

interface Resolved {
  resolvedFlow: {
    revision: number;
    used: { kind: string; id: string; revision: number }[];
    plugins: {
      kind: string;
      id: string;
      type: string;
      path: string;
      properties: Record<string, unknown>;
      pluginDefaults: { type: string; forced: boolean; namespace: string | null; values: Record<string, unknown> }[];
      propertySources: { key: string; from: string; type: string | null; forced: boolean | null; namespace: string | null }[];
    }[];
  } | null;
}
const RESOLVED = `query($ns: String!, $id: ID!) { resolvedFlow(namespace: $ns, id: $id) {
  revision used { kind id revision }
  plugins { kind id type path properties pluginDefaults { type forced namespace values } propertySources { key from type forced namespace } }
} }`;

describe('plugin defaults as Kestra applies them (resolvedFlow)', () => {
  let gw: TestGateway;
  const q = <D>(query: string, variables: Record<string, unknown> = {}, token?: string) =>
    gw.gql<D>(query, variables, { tenant: T, ...(token ? { token } : {}) });
  const createNamespace = async (id: string, pluginDefaults: Default[] = []) => {
    expectData(await q(`mutation($id: ID!) { createNamespace(input: {id: $id}) { id } }`, { id }));
    if (pluginDefaults.length > 0) {
      const input = {
        pluginDefaults: pluginDefaults.map(([type, value, forced]) => ({ type: full(type), forced: !!forced, values: { region: value } })),
      };
      expectData(
        await q(`mutation($id: ID!, $in: UpdateNamespaceInput!) { updateNamespace(id: $id, input: $in) { id } }`, { id, in: input }),
      );
    }
  };
  const createFlow = async (source: string) =>
    expectData(await q(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: source }));

  beforeAll(async () => {
    gw = await startTestGateway();
    await createTenant(gw, T);
  });
  afterAll(async () => {
    await gw.dispose();
  });

  it("docs/namespaces.md's precedence table is this test's table", () => {
    expect(docRows()).toEqual(ROWS.map(rowCells));
  });

  it.each(ROWS.map((row, i) => ({ ...row, n: i + 1 })))('row $n: $rule', async (row) => {
    const { n } = row;
    const company = `row${n}`;
    const team = `${company}.team`;
    await createNamespace(company, row.company);
    await createNamespace(team, row.team);
    const flowDefaults = row.flow.length > 0 ? `pluginDefaults:\n${yamlDefaults(row.flow, '  ')}` : '';
    const own = row.task === null ? '' : `    region: ${row.task}\n`;
    await createFlow(`id: f\nnamespace: ${team}\n${flowDefaults}tasks:\n  - id: up\n    type: ${UPLOAD}\n    bucket: b\n${own}`);
    const resolved = expectData(await q<Resolved>(RESOLVED, { ns: team, id: 'f' })).resolvedFlow;
    const task = resolved?.plugins[0];
    expect(task?.properties['bucket']).toBe('b');
    expect(task?.properties['region']).toBe(row.region ?? undefined);
    const source = task?.propertySources.find((s) => s.key === 'region');
    if (row.region === null) {
      expect(source).toBeUndefined();
      return;
    }
    const [where, forced] = row.from.split(', ');
    if (where === 'task') {
      expect(source).toMatchObject({ from: 'TASK' });
    } else {
      const namespace = where === 'flow' ? null : where === 'company' ? company : team;
      expect(source).toMatchObject({ from: 'DEFAULT', forced: forced === 'forced', namespace });
    }
  });

  it('merges values key by key (objects deeply), applies to nested tasks and triggers, and lists the matching defaults strongest first', async () => {
    await createNamespace('deep', [['aws', 'root']]);
    expectData(
      await q(
        `mutation { setNamespacePluginDefault(id: "deep", pluginDefault: {type: "io.kestra.plugin.aws", values: {options: {retries: 3, acl: "private"}, tags: ["a"]}}) { id } }`,
      ),
    );
    expectData(
      await q(
        `mutation { setNamespacePluginDefault(id: "deep", pluginDefault: {type: "io.kestra.plugin.core", forced: true, values: {timeout: "PT1M"}}) { id } }`,
      ),
    );
    await createFlow(
      [
        'id: nested',
        'namespace: deep',
        'tasks:',
        '  - id: seq',
        '    type: io.kestra.plugin.core.flow.Sequential',
        '    tasks:',
        '      - id: up',
        `        type: ${UPLOAD}`,
        '        options: {acl: public}',
        '        tags: [b]',
        'triggers:',
        '  - id: every',
        '    type: io.kestra.plugin.core.trigger.Schedule',
        '    cron: "0 * * * *"',
        '',
      ].join('\n'),
    );
    const resolved = expectData(await q<Resolved>(RESOLVED, { ns: 'deep', id: 'nested' })).resolvedFlow;
    const byId = new Map(resolved?.plugins.map((p) => [p.id, p]));
    expect(resolved?.plugins.map((p) => [p.kind, p.id, p.path])).toEqual([
      ['TASK', 'seq', 'tasks[0]'],
      ['TASK', 'up', 'tasks[0].tasks[0]'],
      ['TRIGGER', 'every', 'triggers[0]'],
    ]);
    // The second set replaced the first (aws, non-forced) entry: region is gone. The task's own acl stays, the default's retries is added; lists are replaced, not merged.
    expect(byId.get('up')?.properties).toEqual({ options: { retries: 3, acl: 'public' }, tags: ['b'] });
    expect(byId.get('up')?.pluginDefaults).toEqual([
      {
        type: 'io.kestra.plugin.aws',
        forced: false,
        namespace: 'deep',
        values: { options: { retries: 3, acl: 'private' }, tags: ['a'] },
      },
    ]);
    expect(byId.get('seq')?.properties).toEqual({ timeout: 'PT1M' });
    expect(byId.get('every')?.properties).toEqual({ cron: '0 * * * *', timeout: 'PT1M' });
    expect(resolved?.used).toEqual([
      { kind: 'FLOW', id: 'deep.nested', revision: 1 },
      { kind: 'NAMESPACE', id: 'deep', revision: 4 },
    ]);
  });

  it('answers null to a caller who may not view the flow, as flow() does', async () => {
    const token = await createUserWithToken(gw, 'nobody');
    await bind(gw, T, { principalType: 'USER', principalId: 'nobody', roleId: 'viewer', namespace: 'elsewhere' });
    expect(expectData(await q<Resolved>(RESOLVED, { ns: 'deep', id: 'nested' }, token)).resolvedFlow).toBeNull();
    expect(expectData(await q<Resolved>(RESOLVED, { ns: 'deep', id: 'missing' })).resolvedFlow).toBeNull();
  });
});
