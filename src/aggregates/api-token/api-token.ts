import type { Command, Decider, DomainEvent } from '../decider.js';
import { assertNever, badInput, conflict, notFound } from '../../shared/errors.js';
import { validateId } from '../../shared/ids.js';

export type TokenPrincipalType = 'USER' | 'SERVICE_ACCOUNT';

/**
 * An API token as the log knows it. The secret itself is never in a command,
 * an event or a read model: only a random salt and SHA-256(salt ‖ secret),
 * which cannot be reversed (the secret is 32 random bytes), so the read model
 * that authentication uses can be rebuilt from the log.
 */
export interface ApiTokenData {
  id: string;
  name: string;
  principalType: TokenPrincipalType;
  principalId: string;
  /** ISO-8601, or null: never expires. */
  expiresAt: string | null;
  secretSalt: string;
  secretHash: string;
}

export type ApiTokenCommand =
  | Command<
      'CreateApiToken',
      Omit<ApiTokenData, 'expiresAt'> & {
        /** Seconds from the command's time; null or absent: never expires. */
        expiresIn?: number | null;
      }
    >
  | Command<'RevokeApiToken', { id: string }>;

export type ApiTokenEvent =
  | DomainEvent<'ApiTokenCreated', ApiTokenData>
  | DomainEvent<'ApiTokenRevoked', { id: string; principalType: TokenPrincipalType; principalId: string }>;

export type ApiTokenState = { status: 'absent' } | ({ status: 'active' | 'revoked' } & ApiTokenData);

/** From one minute to five years. */
export const MIN_EXPIRES_IN = 60;
export const MAX_EXPIRES_IN = 5 * 365 * 24 * 3600;

function expiresAt(now: string, expiresIn: number | null | undefined): string | null {
  if (expiresIn === null || expiresIn === undefined) return null;
  if (!Number.isInteger(expiresIn) || expiresIn < MIN_EXPIRES_IN || expiresIn > MAX_EXPIRES_IN) {
    throw badInput('expiresIn', `expiresIn is a number of seconds from ${MIN_EXPIRES_IN} to ${MAX_EXPIRES_IN}`);
  }
  return new Date(Date.parse(now) + expiresIn * 1000).toISOString();
}

export const apiTokenDecider: Decider<ApiTokenCommand, ApiTokenEvent, ApiTokenState> = {
  name: 'apiToken',
  stateVersion: 1,
  initialState: () => ({ status: 'absent' }),

  evolve(state, event) {
    switch (event.type) {
      case 'ApiTokenCreated':
        return { status: 'active', ...event.data };
      case 'ApiTokenRevoked':
        return state.status === 'absent' ? state : { ...state, status: 'revoked' };
      default:
        return assertNever(event);
    }
  },

  decide(command, state) {
    switch (command.type) {
      case 'CreateApiToken': {
        const { id, principalType, principalId, secretSalt, secretHash } = command.data;
        const name = validateId('name', 'name', command.data.name);
        const expires = expiresAt(command.metadata.now, command.data.expiresIn);
        if (state.status !== 'absent') throw conflict(`API token ${id} already exists`);
        return [{ type: 'ApiTokenCreated', data: { id, name, principalType, principalId, expiresAt: expires, secretSalt, secretHash } }];
      }
      case 'RevokeApiToken': {
        if (state.status === 'absent') throw notFound(`API token ${command.data.id}`);
        // Revoking twice is a no-op: the token is refused either way.
        if (state.status === 'revoked') return [];
        const { id, principalType, principalId } = state;
        return [{ type: 'ApiTokenRevoked', data: { id, principalType, principalId } }];
      }
      default:
        return assertNever(command);
    }
  },
};
