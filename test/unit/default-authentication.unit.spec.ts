import { describe, expect, it } from 'vitest';
import { validateDefaultAuthentication, withDefaultAuthentication } from '../../src/aggregates/namespace/default-authentication.js';
import { DomainError } from '../../src/shared/errors.js';

/** The refusal of `input`, or null when it is accepted. */
function refusal(input: Parameters<typeof validateDefaultAuthentication>[0]): DomainError | null {
  try {
    validateDefaultAuthentication(input);
    return null;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
}

describe('namespace default authentication: references only', () => {
  it('derives the plugin prefix of the providers Kestra ships, and of others', () => {
    expect(validateDefaultAuthentication({ provider: 'aws', secretRefs: { accessKeyId: 'AWS_KEY' } }).pluginType).toBe(
      'io.kestra.plugin.aws',
    );
    expect(validateDefaultAuthentication({ provider: 'azure', serviceAccountId: 'ci' }).pluginType).toBe('io.kestra.plugin.azure');
    expect(validateDefaultAuthentication({ provider: 'my-cloud', serviceAccountId: 'ci' }).pluginType).toBe('io.kestra.plugin.mycloud');
    expect(
      validateDefaultAuthentication({ provider: 'gcp', pluginType: 'io.kestra.plugin.gcp.bigquery', serviceAccountId: 'ci' }).pluginType,
    ).toBe('io.kestra.plugin.gcp.bigquery');
  });

  it.each([
    ['an AWS access key id (a valid secret key name otherwise)', 'AKIAIOSFODNN7EXAMPLE'],
    ['an AWS session key id', 'ASIAY34FZKBOKMUTVV7A'],
    ['an AWS secret access key', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
    ['a Google API key', 'AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe'],
    ['a PEM block', '-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----'],
    ['a JSON key file', '{"type":"service_account","private_key_id":"abc"}'],
    ['an Azure client secret', 'Q~8Q8~abcdefghijklmnopqrstuvwxyz0123'],
    ['a password', 'hunter2!'],
    ['a key with spaces', 'MY KEY'],
  ])('refuses %s, without quoting it', (_what, value) => {
    const error = refusal({ provider: 'aws', secretRefs: { secretKeyId: value } });
    expect(error?.code).toBe('BAD_USER_INPUT');
    expect(error?.extensions).toMatchObject({ field: 'secretRefs.secretKeyId', reason: 'RAW_CREDENTIAL' });
    expect(error?.message).not.toContain(value);
  });

  it('accepts secret keys, and refuses entries that name nothing or carry non-strings', () => {
    expect(
      validateDefaultAuthentication({
        provider: 'aws',
        secretRefs: { secretKeyId: 'AWS_SECRET_ACCESS_KEY', accessKeyId: 'AWS_ACCESS_KEY_ID' },
      }).secretRefs,
    ).toEqual({
      accessKeyId: 'AWS_ACCESS_KEY_ID',
      secretKeyId: 'AWS_SECRET_ACCESS_KEY',
    });
    expect(refusal({ provider: 'aws' })?.extensions['field']).toBe('secretRefs');
    expect(refusal({ provider: 'aws', secretRefs: { accessKeyId: 42 } })?.extensions['field']).toBe('secretRefs.accessKeyId');
    expect(refusal({ provider: 'aws', secretRefs: ['AWS_KEY'] })?.extensions['field']).toBe('secretRefs');
    expect(refusal({ provider: 'aws', secretRefs: { 'bad field': 'AWS_KEY' } })?.extensions['field']).toBe('secretRefs');
    expect(refusal({ provider: 'AWS', serviceAccountId: 'ci' })?.extensions['field']).toBe('provider');
    expect(refusal({ provider: 'aws', serviceAccountId: 'Not An Id' })?.extensions['field']).toBe('serviceAccountId');
    expect(refusal({ provider: 'aws', pluginType: 'io..kestra', serviceAccountId: 'ci' })?.extensions['field']).toBe('pluginType');
  });

  it('one entry per provider: setting one replaces only its own', () => {
    const aws = validateDefaultAuthentication({ provider: 'aws', serviceAccountId: 'a' });
    const gcp = validateDefaultAuthentication({ provider: 'gcp', serviceAccountId: 'g' });
    const aws2 = validateDefaultAuthentication({ provider: 'aws', serviceAccountId: 'b' });
    expect(withDefaultAuthentication(withDefaultAuthentication([gcp], aws), aws2)).toEqual([aws2, gcp]);
  });
});
