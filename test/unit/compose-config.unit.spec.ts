import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/config.js';
import { SigningKey } from '../../src/ledger/checkpoint.js';
import { resolveAuditSigning } from '../../src/ledger/signing-key.js';

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  secrets?: string[];
}

const root = path.resolve(import.meta.dirname, '../..');
const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  secrets: Record<string, { file: string }>;
};
/** The services that run tenantry: built from the Dockerfile. */
const tenantryServices = Object.entries(compose.services).filter(([, service]) => 'build' in service);

/** What the compose block of docs/stores.md writes into secrets/ (no Docker here: the values only need the right form). */
function secretsAsTheDocsMakeThem(): Record<string, string> {
  return {
    admin_token: 'a'.repeat(48),
    master_key: Buffer.alloc(32, 9).toString('base64'),
    mongo_root_password: 'b'.repeat(48),
    mongo_keyfile: 'c'.repeat(1008),
    mongodb_uri: 'mongodb://root:pw@mongodb:27017/?replicaSet=rs0&authSource=admin',
    audit_signing_key: SigningKey.generate().privatePem(),
  };
}

/** `${NAME:-default}` as compose expands it with NAME unset. */
const expand = (value: string): string => String(value).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');

describe('docker-compose.yml (no Docker engine here: its configuration is checked without running it)', () => {
  it('names every tenantry service and secret the docs/stores.md block creates', () => {
    expect(tenantryServices.map(([name]) => name).sort()).toEqual(['gateway', 'gateway-2', 'projector']);
    const docs = readFileSync(path.join(root, 'docs/stores.md'), 'utf8');
    const header = readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
    for (const [name, { file }] of Object.entries(compose.secrets)) {
      expect(file).toBe(`./secrets/${name}`);
      expect(docs, `docs/stores.md makes secrets/${name}`).toMatch(new RegExp(`> secrets/${name}\\b`));
      expect(header, `the compose file's header makes secrets/${name}`).toMatch(new RegExp(`> secrets/${name}\\b`));
      expect(Object.keys(secretsAsTheDocsMakeThem())).toContain(name);
    }
  });

  it('pins every image it pulls by digest, and the Dockerfile its base image', () => {
    const images = Object.values(compose.services).flatMap((service) => (service.image ? [service.image] : []));
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(image).toMatch(/@sha256:[0-9a-f]{64}$/);
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/@sha256:[0-9a-f]{64}/);
  });

  it.each(tenantryServices)('%s: its environment and secrets make a configuration that starts (signing key included)', (name, service) => {
    const dir = mkdtempSync(path.join(tmpdir(), `tenantry-compose-${name}-`));
    const secrets = secretsAsTheDocsMakeThem();
    const env: Record<string, string> = { TENANTRY_DATA_DIR: path.join(dir, 'data') };
    for (const [variable, raw] of Object.entries(service.environment ?? {})) {
      const value = expand(raw);
      const secret = /^\/run\/secrets\/(.+)$/.exec(value)?.[1];
      if (secret === undefined) {
        env[variable] = value;
        continue;
      }
      expect(service.secrets, `${name} mounts the secret ${secret} that ${variable} names`).toContain(secret);
      const file = path.join(dir, secret);
      writeFileSync(file, `${secrets[secret] ?? ''}\n`);
      env[variable] = file;
    }
    const config = loadConfig(env);
    expect(config.eventStore).toBe('kurrentdb');
    expect(config.readModels).toBe('mongodb');
    expect(() => resolveAuditSigning(config)).not.toThrow();
    if (name !== 'projector') expect(config.adminToken).toBe(secrets['admin_token']);
  });
});
