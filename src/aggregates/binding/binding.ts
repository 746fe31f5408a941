import type { Command, Decider, DomainEvent } from '../decider.js';
import { assertNever, badInput, conflict, notFound } from '../../shared/errors.js';
import { validateId } from '../../shared/ids.js';

export const PRINCIPAL_TYPES = ['USER', 'GROUP', 'SERVICE_ACCOUNT'] as const;
export type PrincipalType = (typeof PRINCIPAL_TYPES)[number];

export interface BindingData {
  id: string;
  principalType: PrincipalType;
  principalId: string;
  roleId: string;
  namespace: string | null;
}

/** Bindings are immutable: delete and recreate. */
export type BindingCommand =
  Command<'CreateBinding', Omit<BindingData, 'namespace'> & { namespace?: string | null }> | Command<'DeleteBinding', { id: string }>;

export type BindingEvent = DomainEvent<'BindingCreated', BindingData> | DomainEvent<'BindingDeleted', BindingData>;

export type BindingState = { status: 'absent' } | ({ status: 'active' | 'deleted' } & BindingData);

export const bindingDecider: Decider<BindingCommand, BindingEvent, BindingState> = {
  name: 'binding',
  stateVersion: 1,
  initialState: () => ({ status: 'absent' }),
  evolve(state, event) {
    switch (event.type) {
      case 'BindingCreated':
        return { status: 'active', ...event.data };
      case 'BindingDeleted':
        return state.status === 'absent' ? state : { ...state, status: 'deleted' };
      default:
        return assertNever(event);
    }
  },
  decide(command, state) {
    switch (command.type) {
      case 'CreateBinding': {
        const { id, principalType, principalId, roleId } = command.data;
        if (!PRINCIPAL_TYPES.includes(principalType)) throw badInput('principalType', 'unknown principal type');
        validateId(principalType === 'USER' ? 'user' : 'name', 'principalId', principalId);
        validateId('name', 'roleId', roleId);
        const namespace = command.data.namespace ?? null;
        if (namespace !== null) validateId('namespace', 'namespace', namespace);
        if (state.status !== 'absent') throw conflict(`binding ${id} already exists`);
        return [{ type: 'BindingCreated', data: { id, principalType, principalId, roleId, namespace }, namespace: namespace ?? undefined }];
      }
      case 'DeleteBinding': {
        if (state.status !== 'active') throw notFound(`binding ${command.data.id}`);
        const { status: _status, ...data } = state;
        return [{ type: 'BindingDeleted', data, namespace: data.namespace ?? undefined }];
      }
      default:
        return assertNever(command);
    }
  },
};
