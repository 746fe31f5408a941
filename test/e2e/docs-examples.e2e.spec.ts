import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Kind, parse, print, type DefinitionNode, type DocumentNode } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../support/gateway.js';
import { extractExamples, type Example } from '../support/markdown-examples.js';
import { TEST_AUDIT_SIGNING_KEY } from '../support/signing.js';
import { tenantryArgs } from '../support/tenantry-command.js';

/**
 * Every ```sh and ```graphql example of README.md and docs/*.md, in order,
 * against one fresh gateway: an example that fails here fails for a reader
 * too. Examples that cannot run here carry a `<!-- example: skip REASON -->`
 * marker and show as skipped tests. The only rewriting: the gateway's URL
 * for http://127.0.0.1:4000, the test's admin token for `tnt_admin_...`, and
 * `npx tenantry` runs the sources (compiled for the test run, or through tsx).
 */
const root = path.resolve(import.meta.dirname, '../..');
/**
 * The docs in reading order, which is the order their examples build on each
 * other (the README's first session creates the tenant `acme` and the `gql`
 * shell function; later pages use both, and what earlier pages created). A
 * docs file not listed here runs after these, in name order.
 */
const docsInOrder = [
  'configuration.md',
  'api.md',
  'flows.md',
  'namespaces.md',
  'secrets.md',
  'tenants.md',
  'access-control.md',
  'audit.md',
  'security.md',
  'stores.md',
  'operations.md',
  'development.md',
  'bounded-cost.md',
  'ledger.md',
  'architecture.md',
];
const files = [
  'README.md',
  ...docsInOrder,
  ...readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md') && !docsInOrder.includes(f))
    .sort(),
].map((f) => (f === 'README.md' ? f : `docs/${f}`));
const examples: Example[] = files.flatMap((f) => extractExamples(path.join(root, f)).map((e) => ({ ...e, file: f })));

const title = (e: Example): string => `${e.file}:${e.line} (${e.lang})${e.skip ? ` — skipped: ${e.skip}` : ''}`;

function run(script: string, cwd: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** "@a.b" → the value at a.b in the data of the block's earlier answers. */
function resolveVariables(variables: Record<string, unknown> | null, data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(variables ?? {})) {
    out[key] =
      typeof value === 'string' && value.startsWith('@')
        ? value
            .slice(1)
            .split('.')
            .reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], data)
        : value;
  }
  return out;
}

describe('README and docs examples, in order, against a fresh gateway', { timeout: 300_000 }, () => {
  let gw: TestGateway;
  let workDir: string;
  let env: Record<string, string>;
  const shellState = (): string => path.join(workDir, '.functions.sh');

  beforeAll(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), 'tenantry-docs-'));
    const dataDir = mkdtempSync(path.join(tmpdir(), 'tenantry-docs-data-'));
    env = {
      TENANTRY_DATA_DIR: dataDir,
      TENANTRY_EVENT_STORE: 'sqlite',
      TENANTRY_ADMIN_TOKEN: ADMIN_TOKEN,
      TENANTRY_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
      TENANTRY_AUDIT_SIGNING_KEY: TEST_AUDIT_SIGNING_KEY,
      TENANTRY_SQLITE_SYNCHRONOUS: 'NORMAL',
    };
    gw = await startTestGateway({ dataDir, env });
    env['TENANTRY_READ_MODELS'] = gw.config.readModels;
    if (gw.config.mongoUri) env['TENANTRY_MONGODB_URI'] = gw.config.mongoUri;
    env['TENANTRY_MONGODB_DB'] = gw.config.mongoDb;
  }, 120_000);

  afterAll(async () => {
    await gw?.dispose();
  });

  it('every graphql example names its endpoint or why it is skipped', () => {
    const unmarked = examples.filter((e) => e.lang === 'graphql' && !e.skip && !e.endpoint).map(title);
    expect(unmarked).toEqual([]);
  });

  for (const example of examples) {
    if (example.skip) {
      it.skip(title(example), () => undefined);
      continue;
    }
    it(title(example), async () => {
      if (example.lang === 'sh') await runShell(example);
      else await runGraphql(example);
    });
  }

  const tenantryCommand = tenantryArgs()
    .map((arg) => (arg === 'tsx' ? pathToFileURL(path.join(root, 'node_modules/tsx/dist/loader.mjs')).href : arg))
    .reduce((command, arg) => `${command} ${arg}`, 'node');

  async function runShell(example: Example): Promise<void> {
    const code = example.code
      .replaceAll('http://127.0.0.1:4000', gw.url)
      .replaceAll('tnt_admin_...', ADMIN_TOKEN)
      .replaceAll('npx tenantry', tenantryCommand);
    // Shell functions an earlier block defined (the first steps' `gql`) stay defined, as in a reader's terminal.
    const script = `set -eo pipefail\n[ -f ${shellState()} ] && source ${shellState()}\n${code}\ndeclare -f > ${shellState()}\n`;
    const result = await run(script, workDir, {
      ...env,
      TOKEN: ADMIN_TOKEN,
      ADMIN_TOKEN,
      TENANTRY_LOG_LEVEL: 'error',
      TSX_TSCONFIG_PATH: path.join(root, 'tsconfig.json'), // the decorators' settings, from any working directory
    });
    const context = `${example.file}:${example.line}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`;
    expect(result.code, context).toBe(0);
    if (example.expectError) expect(result.stdout, context).toContain(`"code":"${example.expectError}"`);
    else expect(result.stdout, context).not.toContain('"errors":');
  }

  async function runGraphql(example: Example): Promise<void> {
    const document: DocumentNode = parse(example.code);
    const fragments = document.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
    const operations = document.definitions.filter((d): d is DefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    const data: Record<string, unknown> = {};
    // `endpoint=v2:acme` (or `v2:instance`): the v2 API (docs/api-v2.md).
    const [api, endpoint] = example.endpoint?.startsWith('v2:')
      ? (['v2', example.endpoint.slice(3)] as const)
      : (['v1', example.endpoint] as const);
    const tenant = endpoint === 'instance' ? null : endpoint;
    for (const [i, operation] of operations.entries()) {
      const query = print({ kind: Kind.DOCUMENT, definitions: [operation, ...fragments] });
      const answer = await gw.gql(query, resolveVariables(example.variables, data), { tenant, api });
      const context = `${example.file}:${example.line}, operation ${i + 1}:\n${query}\n→ ${JSON.stringify(answer.errors ?? answer.data)}`;
      if (example.expectError && i === operations.length - 1) {
        expect(answer.errors?.[0]?.extensions.code, context).toBe(example.expectError);
        continue;
      }
      expect(answer.errors, context).toBeUndefined();
      Object.assign(data, answer.data ?? {});
    }
  }
});
