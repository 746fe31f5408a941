/**
 * Access-control helpers for e2e tests: users with their own API tokens,
 * bindings, tenants, all through the public GraphQL API.
 */
import { expectData, type TestGateway } from './gateway.js';

/** Creates a user (as the bootstrap admin) and returns an API token that acts as that user. */
export async function createUserWithToken(gw: TestGateway, id: string, options: { instanceAdmin?: boolean } = {}): Promise<string> {
  expectData(
    await gw.gql(`mutation($input: CreateUserInput!) { createUser(input: $input) { id } }`, {
      input: { id, email: `${id}@example.com`, name: id, instanceAdmin: options.instanceAdmin ?? false },
    }),
  );
  return userToken(gw, id);
}

/** A new API token for an existing user, minted by the bootstrap admin on the instance endpoint. */
export async function userToken(gw: TestGateway, userId: string, expiresIn: number | null = null): Promise<string> {
  const created = expectData(
    await gw.gql<{ createApiToken: { token: string } }>(
      `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { token } }`,
      { input: { principalId: userId, name: 'test', expiresIn } },
    ),
  );
  return created.createApiToken.token;
}

export async function createTenant(gw: TestGateway, id: string, adminUserId = 'admin'): Promise<void> {
  expectData(
    await gw.gql(`mutation($input: CreateTenantInput!) { createTenant(input: $input) { id } }`, { input: { id, name: id, adminUserId } }),
  );
}

export interface BindingInput {
  principalType: 'USER' | 'GROUP' | 'SERVICE_ACCOUNT';
  principalId: string;
  roleId: string;
  namespace?: string | null;
}

/** Creates a binding (by default as the bootstrap admin, bound `admin` in the tenant) and returns its id. */
export async function bind(gw: TestGateway, tenant: string, input: BindingInput, token?: string): Promise<string> {
  const result = await gw.gql<{ createBinding: { id: string } }>(
    `mutation($input: CreateBindingInput!) { createBinding(input: $input) { id } }`,
    { input },
    { tenant, token },
  );
  return expectData(result).createBinding.id;
}

/** Creates a service account and a token for it (by default as the bootstrap admin). */
export async function serviceAccountToken(
  gw: TestGateway,
  tenant: string,
  id: string,
  token?: string,
): Promise<{ token: string; tokenId: string }> {
  expectData(
    await gw.gql(
      `mutation($input: CreateServiceAccountInput!) { createServiceAccount(input: $input) { id } }`,
      { input: { id } },
      { tenant, token },
    ),
  );
  const created = expectData(
    await gw.gql<{ createApiToken: { id: string; token: string } }>(
      `mutation($input: CreateApiTokenInput!) { createApiToken(input: $input) { id token } }`,
      { input: { principalId: id, name: 'ci' } },
      { tenant, token },
    ),
  );
  return { token: created.createApiToken.token, tokenId: created.createApiToken.id };
}

export const flowSource = (namespace: string, id: string): string =>
  `id: ${id}\nnamespace: ${namespace}\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n`;
