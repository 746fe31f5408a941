import type { ApiError } from './api.js';

export interface Explained {
  title: string;
  detail: string;
  /** The token is unusable: go back to the sign-in form. */
  signIn: boolean;
}

/** What the user reads when a call fails: the cause and what to do, not the raw error. */
export function explain(error: ApiError, tenant: string): Explained {
  switch (error.code) {
    case 'UNAUTHENTICATED':
      return {
        title: 'Your token is invalid or has expired',
        detail: 'The server refused the API token (expired, revoked or mistyped). Paste a new token to continue.',
        signIn: true,
      };
    case 'FORBIDDEN': {
      const permission = typeof error.extensions['permission'] === 'string' ? error.extensions['permission'] : 'AUDITLOG:LIST';
      return {
        title: 'Access denied (FORBIDDEN)',
        detail: `Your token does not grant ${permission} in tenant “${tenant}”. Ask a tenant admin for a role that includes it.`,
        signIn: false,
      };
    }
    case 'TENANT_NOT_FOUND':
      return { title: 'Tenant not found', detail: `Tenant “${tenant}” does not exist, or your token has no rights in it.`, signIn: false };
    case 'NETWORK':
      return { title: 'Server unreachable', detail: 'Check your connection, then try again.', signIn: false };
    case 'RATE_LIMITED':
      return { title: 'Too many requests', detail: 'Wait a moment, then try again.', signIn: false };
    case 'BAD_USER_INPUT': {
      const field = typeof error.extensions['field'] === 'string' ? ` (${error.extensions['field']})` : '';
      return { title: `Invalid filter${field}`, detail: error.message, signIn: false };
    }
    default: {
      const id = typeof error.extensions['correlationId'] === 'string' ? ` Reference: ${error.extensions['correlationId']}.` : '';
      return { title: 'Something went wrong', detail: `${error.message}${id}`, signIn: false };
    }
  }
}
