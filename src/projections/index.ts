import type { Projection } from './runtime/projection.js';
import { auditProjection } from './audit/audit.projection.js';
import { bindingsProjection } from './bindings/bindings.projection.js';
import { apiTokensProjection } from './api-tokens/api-tokens.projection.js';
import { groupsProjection } from './groups/groups.projection.js';
import { rolesProjection } from './roles/roles.projection.js';
import { serviceAccountsProjection } from './service-accounts/service-accounts.projection.js';
import { flowRevisionsProjection } from './flow-revisions/flow-revisions.projection.js';
import { flowsProjection } from './flows/flows.projection.js';
import { namespacesProjection } from './namespaces/namespaces.projection.js';
import { secretsProjection } from './secrets/secrets.projection.js';
import { streamsProjection } from './streams/streams.projection.js';
import { tenantsProjection } from './tenants/tenants.projection.js';
import { usersProjection } from './users/users.projection.js';

/** Every projection of the application. */
export const allProjections = (): Projection[] => [
  tenantsProjection,
  namespacesProjection,
  usersProjection,
  bindingsProjection,
  rolesProjection,
  groupsProjection,
  serviceAccountsProjection,
  apiTokensProjection,
  flowsProjection,
  flowRevisionsProjection,
  auditProjection,
  secretsProjection,
  streamsProjection,
];
