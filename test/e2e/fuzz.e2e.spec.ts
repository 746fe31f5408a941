/**
 * Property-based fuzzing of every mutation of the schema, over real HTTP:
 * random and hostile arguments (ids with unicode, control characters and
 * huge lengths; YAML bombs, broken and deeply nested YAML; JSON variables
 * with `__proto__`, `constructor`, MongoDB operators, deep nesting and huge
 * arrays; 100k-character strings; out-of-range numbers; wrong types; unknown
 * input fields), mixed with valid values so the domain code runs too.
 *
 * For each request: either a valid result, or errors that all carry a code
 * documented in docs/api.md (never INTERNAL_SERVER_ERROR), and then the event
 * log did not move; and Object.prototype stays clean (the gateway runs in
 * this process).
 */
import fc from 'fast-check';
import { getNamedType, isLeafType, isNonNullType, isObjectType, type GraphQLField, type GraphQLSchema } from 'graphql';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/schema/build.js';
import { createUserWithToken } from '../support/access.js';
import { ADMIN_TOKEN, expectData, startTestGateway, type TestGateway } from '../support/gateway.js';

/** Bounded for CI (about 15 s in all); `TENANTRY_FUZZ_RUNS=500` digs deeper locally. */
const RUNS_PER_MUTATION = Number(process.env['TENANTRY_FUZZ_RUNS'] ?? 50);
/** TENANTRY_BODY_LIMIT's default. */
const BODY_LIMIT = 1024 * 1024;

/** The codes of docs/api.md a refusal may carry. INTERNAL_SERVER_ERROR (and SERVICE_UNAVAILABLE, with healthy stores) would be a bug. */
const DOCUMENTED = new Set([
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'TENANT_NOT_FOUND',
  'QUERY_TOO_COMPLEX',
  'RATE_LIMITED',
]);

/** Mutations of the instance endpoint; the others run in a tenant. */
const INSTANCE_LEVEL = new Set([
  'createTenant',
  'updateTenant',
  'deleteTenant',
  'restoreTenant',
  'createUser',
  'updateUser',
  'disableUser',
  'enableUser',
  'deleteUser',
]);

// ---------------------------------------------------------------- values

const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '$where',
  '$set',
  '$gt',
  'a.b',
  '',
  ' ',
  '\u0000',
];

const hostileConstant = fc.constantFrom(
  '',
  ' ',
  '__proto__',
  'constructor',
  'prototype',
  '../../etc/passwd',
  '%2e%2e%2f',
  "'; DROP TABLE events; --",
  '{"$gt": ""}',
  '$where',
  'a.b',
  '${jndi:ldap://x}',
  '%s%s%n',
  '\u0000',
  '\u202eevil',
  '\ufeffbom',
  'ﬀ',
  '😀'.repeat(50),
  'Ａｄｍｉｎ',
  'admin\n',
  'main',
  'A'.repeat(257),
  '<script>alert(1)</script>',
);

const controlChars = fc.string({ unit: fc.integer({ min: 0, max: 31 }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 20 });

/** 100k characters and more, of one or several code points (a 4-byte emoji included). */
const hugeString = fc
  .tuple(fc.constantFrom('a', 'é', '😀', '\n', '"', '\\'), fc.integer({ min: 100_000, max: 110_000 }))
  .map(([unit, n]) => unit.repeat(n));

const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: hostileConstant },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: controlChars },
  { weight: 1, arbitrary: hugeString },
);

const matching = (pattern: RegExp, max: number): fc.Arbitrary<string> =>
  fc.stringMatching(pattern).filter((s) => s.length > 0 && s.length <= max);

/** Mostly valid ids (some of existing things), sometimes hostile ones. */
const idOf = (valid: fc.Arbitrary<string>, existing: readonly string[] = []): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 2, arbitrary: valid },
    { weight: existing.length > 0 ? 4 : 0, arbitrary: existing.length > 0 ? fc.constantFrom(...existing) : fc.constant('') },
    { weight: 1, arbitrary: hostileString },
  );

const nameId = matching(/^[a-z0-9]+(-[a-z0-9]+)*$/, 63);
const tenantIdValid = matching(/^[a-z0-9][a-z0-9_-]*$/, 64);
const namespaceValid = fc.array(matching(/^[a-z0-9][a-z0-9_-]*$/, 20), { minLength: 1, maxLength: 4 }).map((s) => s.join('.'));
const flowIdValid = matching(/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/, 100);
const secretKeyValid = matching(/^[A-Za-z_][A-Za-z0-9_]*$/, 256);
const userIdValid = matching(/^[a-zA-Z0-9][a-zA-Z0-9._@-]*$/, 128);

const NAMESPACES = ['company', 'company.team', 'other'] as const;
const namespaceId = idOf(namespaceValid, NAMESPACES);

/** Mostly small integers; sometimes out-of-range, negative and non-integer numbers, and GraphQL Int's edges. */
const number: fc.Arbitrary<number> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -3, max: 10 }) },
  { weight: 2, arbitrary: fc.integer({ min: 60, max: 200_000_000 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 53, 1e308, -0, 0.5) },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
);

/** Builds an object whose keys may be `__proto__` and friends as own properties, as JSON.parse makes them. */
function objectOf(entries: readonly (readonly [string, unknown])[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [key, value] of entries) Object.defineProperty(result, key, { value, enumerable: true, writable: true, configurable: true });
  return result;
}

/**
 * JSON text spliced into the request body as is. Deeply nested values are
 * sent this way: JSON.parse (the server's body parser) reads 100,000 levels,
 * but JSON.stringify overflows the stack past a few thousand.
 */
class RawJson {
  constructor(
    readonly text: string,
    readonly label: string,
  ) {}
}

const nested = (depth: number, asArray: boolean): RawJson =>
  new RawJson(
    asArray ? `${'['.repeat(depth)}"deep"${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}"deep"${'}'.repeat(depth)}`,
    `<${depth} levels>`,
  );

/** Any JSON, with the shapes that break naive code: pollution keys, operators, dotted keys, deep nesting, huge arrays. */
const hostileJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  {
    weight: 3,
    arbitrary: fc
      .array(fc.tuple(fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ maxLength: 8 })), fc.jsonValue({ maxDepth: 2 })), {
        maxLength: 6,
      })
      .map((entries) => objectOf([...entries, ['__proto__', { polluted: 'yes' }]])),
  },
  { weight: 1, arbitrary: fc.constant(objectOf([['constructor', { prototype: { polluted: 'yes' } }]])) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 100, max: 50_000 }), fc.boolean()).map(([depth, asArray]) => nested(depth, asArray)) },
  { weight: 1, arbitrary: fc.integer({ min: 10_000, max: 100_000 }).map((n) => Array.from({ length: n }, (_, i) => i)) },
  { weight: 1, arbitrary: hugeString },
);

/** Mostly JSON objects the domain accepts (keys with `$` and dots included), sometimes anything. */
const jsonObject: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.dictionary(
      fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('$set', '$where', 'a.b', '.', ' ', '')),
      fc.jsonValue({ maxDepth: 3 }),
      {
        maxKeys: 6,
      },
    ),
  },
  { weight: 2, arbitrary: hostileJson },
);

const optional = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | null | undefined> =>
  fc.oneof({ weight: 3, arbitrary }, { weight: 1, arbitrary: fc.constantFrom(null, undefined) });

/** Mostly absent: an `expectedRevision` given at random would make most calls a CONFLICT. */
const rarely = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });

/** Free text (names, descriptions, values): mostly plain unicode, sometimes hostile. */
const text = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }) },
  { weight: 1, arbitrary: hostileString },
);

// ---------------------------------------------------------------- YAML

const TASK_TYPES = ['io.kestra.plugin.core.log.Log', 'io.kestra.plugin.core.flow.Parallel', 'x'];

const validFlowOf = (id: fc.Arbitrary<string>, namespace: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc
    .record({
      id,
      namespace,
      description: optional(text),
      tasks: fc.array(
        fc.record({ id: matching(/^[a-zA-Z0-9][a-zA-Z0-9_-]*$/, 30), type: fc.constantFrom(...TASK_TYPES), message: optional(text) }),
        {
          minLength: 1,
          maxLength: 4,
        },
      ),
    })
    .map((flow) => stringify(flow));

const validFlow = validFlowOf(fc.oneof(flowIdValid, fc.constant('hello')), fc.oneof(namespaceValid, fc.constantFrom(...NAMESPACES)));

/** "Billion laughs": each level refers to the previous one nine times. */
const yamlBomb = fc.integer({ min: 4, max: 12 }).map((levels) => {
  const lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < levels; i++) lines.push(`l${i}: &l${i} [${Array.from({ length: 9 }, () => `*l${i - 1}`).join(',')}]`);
  return `${lines.join('\n')}\nid: bomb\nnamespace: company\ntasks: *l${levels - 1}\n`;
});

const hostileYaml: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: validFlow },
  { weight: 1, arbitrary: yamlBomb },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 100, max: 50_000 }).map((n) => `id: deep\nnamespace: company\ntasks: ${'['.repeat(n)}${']'.repeat(n)}\n`),
  },
  {
    weight: 1,
    // Nesting by indentation: n levels take about 2n² characters, so 1,200 levels (1.4 MB) already pass the
    // source and body limits; 20,000 had made 400 MB strings that cost the test seconds each and the gateway nothing.
    arbitrary: fc
      .integer({ min: 100, max: 1_200 })
      .map((n) => `id: deep\nnamespace: company\ntasks:\n${Array.from({ length: n }, (_, i) => `${'  '.repeat(i)}- a:`).join('\n')}\n`),
  },
  { weight: 1, arbitrary: fc.constant(`# ${'x'.repeat(600 * 1024)}\nid: big\nnamespace: company\ntasks:\n  - id: a\n    type: x\n`) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'id: a\nnamespace: company\ntasks:\n  - id: t\n    type: x\n__proto__:\n  polluted: yes\n',
      'id: a\nnamespace: company\n<<: {__proto__: {polluted: yes}}\ntasks:\n  - id: t\n    type: x\n',
      'id: a\nnamespace: company\nconstructor:\n  prototype:\n    polluted: yes\ntasks:\n  - id: t\n    type: x\n',
      'id: !!js/function "function () { return 1 }"\nnamespace: company\ntasks: []\n',
      'id: !<tag:yaml.org,2002:js/undefined> ""\nnamespace: company\ntasks:\n  - {id: t, type: x}\n',
      'id: !!binary aGVsbG8=\nnamespace: company\ntasks:\n  - {id: t, type: x}\n',
      'id: a\nid: b\nnamespace: company\ntasks:\n  - {id: t, type: x}\n',
      'id: a\nnamespace: company\ntasks:\n  - &t {id: t, type: x}\n  - *t\n',
      '%YAML 1.1\n---\nid: a\nnamespace: company\ntasks: [{id: t, type: x}]\n...\n---\nid: b\n',
      '\ufeffid: a\nnamespace: company\ntasks: [{id: t, type: x}]\n',
      'id: "\\u0000"\nnamespace: company\ntasks: [{id: t, type: x}]\n',
      '? [a, b]\n: c\nid: a\nnamespace: company\ntasks: [{id: t, type: x}]\n',
      'id: 12\nnamespace: 3.5\ntasks: {id: t}\n',
      '- just\n- a\n- list\n',
      '"scalar"',
      '',
    ),
  },
  { weight: 2, arbitrary: hostileString },
);

// ---------------------------------------------------------------- arguments per mutation

const permissions = fc.array(
  fc.record({
    resource: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('FLOW', 'NAMESPACE', 'SECRET', 'AUDITLOG', 'ROLE') },
      { weight: 1, arbitrary: hostileString },
    ),
    actions: fc.array(
      fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom('VIEW', 'LIST', 'CREATE', 'UPDATE', 'DELETE') },
        { weight: 1, arbitrary: hostileString },
      ),
      {
        minLength: 1,
        maxLength: 5,
      },
    ),
  }),
  { maxLength: 5 },
);

const pluginType = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('io.kestra.plugin.core.log.Log', 'io.kestra.plugin.scripts.python.Script') },
  { weight: 1, arbitrary: hostileString },
);
const principalType = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('USER', 'GROUP', 'SERVICE_ACCOUNT') },
  { weight: 1, arbitrary: hostileString },
);
const domains = fc.array(fc.oneof({ weight: 4, arbitrary: fc.domain() }, { weight: 1, arbitrary: hostileString }), { maxLength: 4 });
const tags = fc.array(fc.record({ key: text, value: text }), { maxLength: 4 });

interface Fixtures {
  bindingId: string;
  tokenId: string;
}

/** One generator per mutation; the test below fails when the schema has a mutation missing here. */
function generators(fixtures: Fixtures): Record<string, fc.Arbitrary<Record<string, unknown>>> {
  const roleId = idOf(nameId, ['fuzz-role', 'admin', 'viewer', 'editor', 'developer']);
  const groupId = idOf(nameId, ['fuzz-group']);
  const userId = idOf(userIdValid, ['fuzz-user', 'admin']);
  const tenantId = idOf(tenantIdValid, ['fuzz', 'main']);
  const flowArgs = { namespace: namespaceId, id: idOf(flowIdValid, ['hello']) };
  const existingFlow = fc.constant({ namespace: 'company.team', id: 'hello' });
  const flowRef = fc.oneof({ weight: 2, arbitrary: existingFlow }, { weight: 1, arbitrary: fc.record(flowArgs) });
  // A valid update keeps the flow's id and namespace.
  const sameFlow = validFlowOf(fc.constant('hello'), fc.constant('company.team'));
  return {
    createTenant: fc.record({
      input: fc.record({
        id: tenantId,
        name: text,
        domains: optional(domains),
        requireExistingNamespace: optional(fc.boolean()),
        adminUserId: optional(userId),
      }),
    }),
    updateTenant: fc.record({
      id: tenantId,
      input: fc.record({ name: optional(text), domains: optional(domains), requireExistingNamespace: optional(fc.boolean()) }),
      expectedRevision: rarely(number),
    }),
    deleteTenant: fc.record({ id: tenantId }),
    restoreTenant: fc.record({ id: tenantId }),
    createUser: fc.record({
      input: fc.record({
        id: userId,
        email: fc.oneof({ weight: 3, arbitrary: fc.emailAddress() }, { weight: 1, arbitrary: hostileString }),
        name: optional(text),
        instanceAdmin: optional(fc.boolean()),
      }),
    }),
    deleteUser: fc.record({ id: idOf(userIdValid, ['admin']), expectedRevision: rarely(number) }),
    updateUser: fc.record({
      id: userId,
      input: fc.record({
        email: optional(fc.oneof({ weight: 3, arbitrary: fc.emailAddress() }, { weight: 1, arbitrary: hostileString })),
        name: optional(text),
      }),
      expectedRevision: rarely(number),
    }),
    // Not fuzz-user, whose token later runs may use.
    disableUser: fc.record({ id: idOf(userIdValid, ['admin']), expectedRevision: rarely(number) }),
    enableUser: fc.record({ id: userId, expectedRevision: rarely(number) }),
    createNamespace: fc.record({ input: fc.record({ id: namespaceId, description: optional(text) }) }),
    updateNamespace: fc.record({
      id: namespaceId,
      input: fc.record({
        description: optional(text),
        variables: optional(jsonObject),
        pluginDefaults: optional(
          fc.array(fc.record({ type: pluginType, forced: optional(fc.boolean()), values: optional(jsonObject) }), { maxLength: 3 }),
        ),
        allowedNamespaces: optional(fc.array(namespaceId, { maxLength: 4 })),
      }),
      expectedRevision: rarely(number),
    }),
    deleteNamespace: fc.record({ id: namespaceId, force: fc.boolean() }),
    restoreNamespace: fc.record({ id: namespaceId, expectedRevision: rarely(number) }),
    setNamespaceVariable: fc.record({ id: namespaceId, key: text, value: jsonObject, expectedRevision: rarely(number) }),
    unsetNamespaceVariable: fc.record({ id: namespaceId, key: text, expectedRevision: rarely(number) }),
    setNamespacePluginDefault: fc.record({
      id: namespaceId,
      pluginDefault: fc.record({ type: pluginType, forced: optional(fc.boolean()), values: optional(jsonObject) }),
      expectedRevision: rarely(number),
    }),
    setNamespaceDefaultAuthentication: fc.record({
      id: namespaceId,
      input: fc.record({
        provider: fc.oneof(fc.constantFrom('aws', 'gcp', 'azure'), text),
        pluginType: optional(pluginType),
        serviceAccountId: optional(idOf(nameId, ['fuzz-sa'])),
        secretRefs: optional(
          fc.oneof(jsonObject, fc.dictionary(fc.constantFrom('accessKeyId', 'secretKeyId', 'token'), fc.oneof(idOf(secretKeyValid), text))),
        ),
      }),
      expectedRevision: rarely(number),
    }),
    unsetNamespaceDefaultAuthentication: fc.record({
      id: namespaceId,
      provider: fc.oneof(fc.constantFrom('aws', 'gcp'), text),
      expectedRevision: rarely(number),
    }),
    unsetNamespacePluginDefault: fc.record({ id: namespaceId, type: pluginType, forced: fc.boolean(), expectedRevision: rarely(number) }),
    putSecret: fc.record({
      input: fc.record({
        namespace: namespaceId,
        key: idOf(secretKeyValid, ['DB_PASSWORD']),
        value: text,
        description: optional(text),
        tags: optional(tags),
      }),
    }),
    deleteSecret: fc.record({ namespace: namespaceId, key: idOf(secretKeyValid, ['DB_PASSWORD']) }),
    createFlow: fc.record({ source: hostileYaml }),
    updateFlow: fc
      .tuple(flowRef, fc.oneof({ weight: 2, arbitrary: sameFlow }, { weight: 3, arbitrary: hostileYaml }), rarely(number))
      .map(([ref, source, expectedRevision]) => ({ ...ref, source, expectedRevision })),
    // Not `hello`, which restoreFlowRevision needs afterwards.
    deleteFlow: fc.oneof(
      { weight: 1, arbitrary: fc.constant({ namespace: 'company.team', id: 'doomed' }) },
      { weight: 2, arbitrary: fc.record(flowArgs) },
    ),
    restoreFlowRevision: fc.tuple(flowRef, number).map(([ref, revision]) => ({ ...ref, revision })),
    restoreFlow: fc.tuple(flowRef, rarely(number)).map(([ref, expectedRevision]) => ({ ...ref, expectedRevision })),
    createRole: fc.record({ input: fc.record({ id: roleId, name: optional(text), description: optional(text), permissions }) }),
    updateRole: fc.record({
      id: roleId,
      input: fc.record({ name: optional(text), description: optional(text), permissions: optional(permissions) }),
      expectedRevision: rarely(number),
    }),
    deleteRole: fc.record({ id: roleId }),
    createBinding: fc.record({
      input: fc.record({ principalType, principalId: fc.oneof(userId, groupId), roleId, namespace: optional(namespaceId) }),
    }),
    deleteBinding: fc.record({ id: idOf(hostileString, [fixtures.bindingId]), expectedRevision: rarely(number) }),
    createGroup: fc.record({ input: fc.record({ id: groupId, name: optional(text), description: optional(text) }) }),
    addGroupMember: fc.record({ groupId, userId, expectedRevision: rarely(number) }),
    removeGroupMember: fc.record({ groupId, userId, expectedRevision: rarely(number) }),
    updateGroup: fc.record({
      id: groupId,
      input: fc.record({ name: optional(text), description: optional(text) }),
      expectedRevision: rarely(number),
    }),
    disableGroup: fc.record({ id: groupId, expectedRevision: rarely(number) }),
    enableGroup: fc.record({ id: groupId, expectedRevision: rarely(number) }),
    deleteGroup: fc.record({ id: idOf(nameId), expectedRevision: rarely(number) }),
    createServiceAccount: fc.record({
      input: fc.record({ id: idOf(nameId, ['fuzz-sa']), name: optional(text), description: optional(text) }),
    }),
    deleteServiceAccount: fc.record({ id: idOf(nameId), expectedRevision: rarely(number) }),
    updateServiceAccount: fc.record({
      id: idOf(nameId, ['fuzz-sa']),
      input: fc.record({ name: optional(text), description: optional(text) }),
      expectedRevision: rarely(number),
    }),
    disableServiceAccount: fc.record({ id: idOf(nameId), expectedRevision: rarely(number) }),
    enableServiceAccount: fc.record({ id: idOf(nameId, ['fuzz-sa']), expectedRevision: rarely(number) }),
    createApiToken: fc.record({
      input: fc.record({
        principalId: fc.oneof(userId, idOf(nameId, ['fuzz-sa'])),
        name: idOf(nameId),
        expiresIn: optional(
          fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 60, max: 157_680_000 }) }, { weight: 1, arbitrary: number }),
        ),
        principalType: optional(principalType),
      }),
    }),
    revokeApiToken: fc.record({ id: idOf(hostileString, [fixtures.tokenId]) }),
    startAuditVerification: fc.constant({}),
    signAuditCheckpoint: fc.constant({}),
  };
}

/** Sometimes: a wrong-typed or missing argument, or an unknown (pollution) key in an input object. */
function mangled(variables: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Record<string, unknown>> {
  return fc.oneof(
    { weight: 6, arbitrary: variables },
    {
      weight: 1,
      arbitrary: fc.tuple(variables, fc.nat(), hostileJson).map(([vars, pick, value]) => {
        const keys = Object.keys(vars);
        return keys.length === 0 ? vars : { ...vars, [keys[pick % keys.length] ?? '']: value };
      }),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(variables, fc.constantFrom(...HOSTILE_KEYS), hostileJson).map(([vars, key, value]) => {
        const input = vars['input'];
        if (typeof input !== 'object' || input === null) return objectOf([...Object.entries(vars), [key, value]]);
        return { ...vars, input: objectOf([...Object.entries(input), [key, value]]) };
      }),
    },
  );
}

/** Where a call goes: its own level's endpoint mostly, sometimes another tenant or a hostile tenant segment. */
const endpoint = (mutation: string): fc.Arbitrary<string | null> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.constant(INSTANCE_LEVEL.has(mutation) ? null : 'main') },
    { weight: 1, arbitrary: fc.constantFrom('fuzz', 'nope', null) },
    { weight: 1, arbitrary: fc.oneof(hostileConstant, fc.string({ unit: 'grapheme', maxLength: 40 })).filter((t) => t.length > 0) },
  );

// ---------------------------------------------------------------- the operation text and the request

/** `mutation($a: T!, …) { name(a: $a, …) { every scalar field } }`, from the schema itself. */
function operationOf(field: GraphQLField<unknown, unknown>): string {
  const declared = field.args.map((a) => `$${a.name}: ${String(a.type)}`).join(', ');
  const passed = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
  const type = getNamedType(field.type);
  const selection = isObjectType(type)
    ? `{ __typename ${Object.values(type.getFields())
        .filter((f) => isLeafType(getNamedType(f.type)) && f.args.every((a) => !isNonNullType(a.type)))
        .map((f) => f.name)
        .join(' ')} }`
    : '';
  return `mutation Fuzz${declared ? `(${declared})` : ''} { ${field.name}${passed ? `(${passed})` : ''} ${selection} }`;
}

interface Answer {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] };
}

/** JSON.stringify, with each RawJson spliced in as its text. */
function bodyOf(value: unknown): string {
  const raws: string[] = [];
  const json = JSON.stringify(value, (_key, v: unknown) => (v instanceof RawJson ? `\u0000raw${raws.push(v.text) - 1}\u0000` : v));
  return json.replace(/"\\u0000raw(\d+)\\u0000"/g, (_match, i: string) => raws[Number(i)] ?? 'null');
}

async function send(gw: TestGateway, query: string, variables: Record<string, unknown>, tenant: string | null): Promise<Answer> {
  const path = tenant === null ? '/api/v1/graphql' : `/api/v1/${encodeURIComponent(tenant)}/graphql`;
  const body = bodyOf({ query, variables });
  let response: Response;
  try {
    response = await fetch(`${gw.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` },
      body,
    });
  } catch (error) {
    // A body over the limit is answered 413 before it is read, and the socket may close while the client still sends.
    if (Buffer.byteLength(body) > BODY_LIMIT)
      return { status: 413, body: { errors: [{ message: 'connection closed', extensions: { code: 'BAD_USER_INPUT' } }] } };
    throw error;
  }
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as Answer['body'] };
  } catch {
    throw new Error(`HTTP ${response.status} answered something other than JSON: ${text.slice(0, 300)}`);
  }
}

const prototypeSnapshot = (): string =>
  JSON.stringify(
    [Object.prototype, Array.prototype, Function.prototype, String.prototype].map((p) => Object.getOwnPropertyNames(p).sort()),
  );

/** Prints a counterexample without its 100k-character strings. */
const short = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof RawJson) return v.label;
    if (Array.isArray(v) && v.length > 50) return `<array of ${v.length}>`;
    return typeof v === 'string' && v.length > 200 ? `${v.slice(0, 60)}…(${v.length} chars)` : v;
  })?.slice(0, 2000) ?? '';

/**
 * Inputs that fuzzing found breaking a mutation, kept as regression cases
 * (each failed with INTERNAL_SERVER_ERROR or a partial write before its fix).
 */
const REGRESSIONS: { mutation: string; tenant: string | null; variables: Record<string, unknown> }[] = [];

// ---------------------------------------------------------------- the tests

const built: GraphQLSchema = await schema();
const MUTATIONS = Object.values(built.getMutationType()?.getFields() ?? {});

describe('fuzzing every mutation with random and hostile input', () => {
  let gw: TestGateway;
  let gens: Record<string, fc.Arbitrary<Record<string, unknown>>>;
  let prototypes: string;

  beforeAll(async () => {
    gw = await startTestGateway({ env: { TENANTRY_READ_YOUR_WRITES_TIMEOUT_MS: '2000' } });
    prototypes = prototypeSnapshot();
    const admin = (query: string, variables: Record<string, unknown> = {}, tenant: string | null = 'main') =>
      gw.gql<Record<string, { id: string }>>(query, variables, { tenant });
    expectData(await admin(`mutation { createTenant(input: {id: "fuzz", name: "Fuzz", adminUserId: "admin"}) { id } }`, {}, null));
    await createUserWithToken(gw, 'fuzz-user');
    for (const ns of NAMESPACES) expectData(await admin(`mutation($id: ID!) { createNamespace(input: {id: $id}) { id } }`, { id: ns }));
    for (const id of ['hello', 'doomed']) {
      const source = `id: ${id}\nnamespace: company.team\ntasks:\n  - id: log\n    type: io.kestra.plugin.core.log.Log\n`;
      expectData(await admin(`mutation($s: String!) { createFlow(source: $s) { id } }`, { s: source }));
    }
    expectData(
      await admin(`mutation { createRole(input: {id: "fuzz-role", permissions: [{resource: "FLOW", actions: ["VIEW"]}]}) { id } }`),
    );
    expectData(await admin(`mutation { createGroup(input: {id: "fuzz-group"}) { id } }`));
    expectData(await admin(`mutation { createServiceAccount(input: {id: "fuzz-sa"}) { id } }`));
    expectData(await admin(`mutation { putSecret(input: {namespace: "company", key: "DB_PASSWORD", value: "s3cr3t"}) { key } }`));
    const binding = expectData(
      await admin(`mutation { createBinding(input: {principalType: USER, principalId: "fuzz-user", roleId: "viewer"}) { id } }`),
    );
    const token = expectData(await admin(`mutation { createApiToken(input: {principalId: "fuzz-sa", name: "fuzz"}) { id } }`));
    gens = generators({ bindingId: binding['createBinding']?.id ?? '', tokenId: token['createApiToken']?.id ?? '' });
  });
  afterAll(() => gw?.dispose());

  /** One call, checked. Returns a description of what went wrong, or null. */
  async function probe(
    field: GraphQLField<unknown, unknown>,
    variables: Record<string, unknown>,
    tenant: string | null,
  ): Promise<string | null> {
    const before = await gw.eventCount();
    const answer = await send(gw, operationOf(field), variables, tenant);
    const after = await gw.eventCount();
    if (prototypeSnapshot() !== prototypes || ({} as Record<string, unknown>)['polluted'] !== undefined)
      return 'Object.prototype was polluted';
    const errors = answer.body.errors ?? [];
    if (errors.length === 0) {
      return answer.body.data?.[field.name] === undefined || answer.body.data?.[field.name] === null
        ? `no data and no error (HTTP ${answer.status})`
        : null;
    }
    const undocumented = errors.filter((e) => !DOCUMENTED.has(e.extensions?.code ?? ''));
    if (undocumented.length > 0) return `undocumented error code: ${short(undocumented)}`;
    if (after !== before)
      return `refused (${short(errors.map((e) => e.extensions?.code))}) but the event log moved from ${before} to ${after}`;
    return null;
  }

  it('has a generator for every mutation of the schema', () => {
    const missing = MUTATIONS.map((m) => m.name).filter((name) => !(name in gens));
    expect(missing).toEqual([]);
  });

  it.each(MUTATIONS.map((m) => [m.name, m] as const))(
    '%s: a valid result or a documented error, and no event when refused',
    async (name, field) => {
      const generator = gens[name];
      if (!generator) throw new Error(`no generator for ${name}`);
      // fc.check, not fc.assert: fast-check's own report would print (recursively) 100k-character strings and 20,000-deep values.
      const details = await fc.check(
        fc.asyncProperty(mangled(generator), endpoint(name), async (variables, tenant) => {
          const problem = await probe(field, variables, tenant);
          if (problem) throw new Error(`${name} at ${short(tenant)} with ${short(variables)}: ${problem}`);
        }),
        { numRuns: RUNS_PER_MUTATION, endOnFailure: true },
      );
      if (details.failed) {
        const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
        throw new Error(`seed ${details.seed}, path ${details.counterexamplePath ?? '-'}: ${cause}`);
      }
    },
    // Hostile inputs make large documents (100k-character sources): on the durable SQLite read models each one
    // is written to disk by several projections, so allow for that (and for a loaded machine); this test is about
    // answers, not speed.
    Math.max(90_000, RUNS_PER_MUTATION * 1_000),
  );

  it('afterwards every projection has caught up, none stopped on an event it could not apply', async () => {
    await expect.poll(async () => (await fetch(`${gw.url}/readyz`)).status, { timeout: 10_000 }).toBe(200);
    for (const lag of await gw.app.projections.lag()) expect(lag, lag.projection).toMatchObject({ lagEvents: 0, error: null });
  });

  it.each(REGRESSIONS.map((r) => [r.mutation, r] as const))('regression: %s', async (name, regression) => {
    const field = MUTATIONS.find((m) => m.name === name);
    expect(field).toBeDefined();
    if (field) expect(await probe(field, regression.variables, regression.tenant)).toBeNull();
  });
});
