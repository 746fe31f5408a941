export type Principal =
  | { type: 'USER'; id: string; instanceAdmin: boolean; via: 'bootstrap-token' | 'api-token' | 'jwt' }
  | { type: 'SERVICE_ACCOUNT'; id: string; tenantId: string; via: 'api-token' }
  /** The process itself: bootstrap and operator commands run on the machine (CLI). */
  | { type: 'SYSTEM'; id: string; via: 'local' };

/** The bootstrap instance admin (docs/access-control.md, "Authentication"). */
export const ADMIN_USER_ID = 'admin';

/**
 * Users the gateway creates itself. They are reached only through the
 * gateway's own credentials (the bootstrap token, API tokens minted for
 * them), never through an identity provider: a JWT naming one is refused.
 */
export const BUILT_IN_USER_IDS: ReadonlySet<string> = new Set([ADMIN_USER_ID]);

export const isInstanceAdmin = (principal: Principal | null): boolean => principal?.type === 'USER' && principal.instanceAdmin;
