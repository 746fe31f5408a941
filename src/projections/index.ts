import type { Projection } from './runtime/projection.js';
import { bindingsProjection } from './bindings/bindings.projection.js';
import { namespacesProjection } from './namespaces/namespaces.projection.js';
import { tenantsProjection } from './tenants/tenants.projection.js';
import { usersProjection } from './users/users.projection.js';

/** Every projection of the application. */
export const allProjections = (): Projection[] => [tenantsProjection, namespacesProjection, usersProjection, bindingsProjection];
