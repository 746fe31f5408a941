import { describe, expect, it } from 'vitest';
import { namespaceDecider, type NamespaceCommand } from '../../src/aggregates/namespace/namespace.js';
import { tenantDecider, type TenantCommand } from '../../src/aggregates/tenant/tenant.js';
import { commandMetadata, deciderSpec, stateOf as given } from '../support/decider.js';

const metadata = commandMetadata();

describe('tenant decider', () => {
  const create = (data: TenantCommand['data']): TenantCommand => ({ type: 'CreateTenant', data, metadata }) as TenantCommand;

  it('creates with normalised, de-duplicated domains', () => {
    const events = tenantDecider.decide(
      create({ id: 'acme', name: ' Acme ', domains: ['A.example.com', 'a.example.com'] }),
      tenantDecider.initialState(),
    );
    expect(events).toEqual([
      { type: 'TenantCreated', data: { id: 'acme', name: 'Acme', domains: ['a.example.com'], requireExistingNamespace: false } },
    ]);
  });

  it.each([
    [{ id: 'Acme', name: 'x' }, 'id'],
    [{ id: 'a'.repeat(65), name: 'x' }, 'id'],
    [{ id: 'acme', name: '' }, 'name'],
    [{ id: 'acme', name: 'x', domains: ['not a host'] }, 'domains[0]'],
  ])('refuses %j naming the field %s', (data, field) => {
    expect(() => tenantDecider.decide(create(data as TenantCommand['data']), tenantDecider.initialState())).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', extensions: expect.objectContaining({ field }) }) as Error,
    );
  });

  it('main cannot be deleted; others are soft-deleted and restored', () => {
    const main = given(tenantDecider, tenantDecider.decide(create({ id: 'main', name: 'Main' }), tenantDecider.initialState()));
    expect(() => tenantDecider.decide({ type: 'DeleteTenant', data: { id: 'main' }, metadata }, main)).toThrow(/cannot be deleted/);
    const acme = given(tenantDecider, tenantDecider.decide(create({ id: 'acme', name: 'A' }), tenantDecider.initialState()));
    const deleted = given(tenantDecider, [
      ...tenantDecider.decide(create({ id: 'acme', name: 'A' }), tenantDecider.initialState()),
      ...tenantDecider.decide({ type: 'DeleteTenant', data: { id: 'acme' }, metadata }, acme),
    ]);
    expect(deleted.status).toBe('deleted');
    expect(() => tenantDecider.decide({ type: 'UpdateTenant', data: { id: 'acme', name: 'B' }, metadata }, deleted)).toThrow(
      expect.objectContaining({ code: 'TENANT_NOT_FOUND' }) as Error,
    );
    expect(tenantDecider.decide({ type: 'RestoreTenant', data: { id: 'acme' }, metadata }, deleted)).toHaveLength(1);
  });

  it('an update that changes nothing emits nothing', () => {
    const tenants = deciderSpec(tenantDecider);
    const createdEvents = tenants
      .given()
      .when(create({ id: 'acme', name: 'A' }))
      .decided();
    tenants
      .given(createdEvents)
      .when({ type: 'UpdateTenant', data: { id: 'acme', name: 'A' }, metadata })
      .then([]);
  });
});

describe('namespace decider', () => {
  const cmd = (c: Omit<NamespaceCommand, 'metadata'>): NamespaceCommand => ({ ...c, metadata }) as NamespaceCommand;
  const created = given(
    namespaceDecider,
    namespaceDecider.decide(cmd({ type: 'CreateNamespace', data: { id: 'company.team' } }), namespaceDecider.initialState()),
  );

  it('records before and after of exactly the fields that changed', () => {
    const [event] = namespaceDecider.decide(
      cmd({ type: 'UpdateNamespace', data: { id: 'company.team', patch: { variables: { a: 1 }, description: null } } }),
      created,
    );
    expect(event).toEqual({
      type: 'NamespaceUpdated',
      data: { id: 'company.team', changes: { variables: { before: {}, after: { a: 1 } } } },
      namespace: 'company.team',
    });
  });

  it.each([['company..team'], ['.company'], ['Company'], ['a'.repeat(151)]])('refuses the namespace id %s', (id) => {
    expect(() => namespaceDecider.decide(cmd({ type: 'CreateNamespace', data: { id } }), namespaceDecider.initialState())).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT' }) as Error,
    );
  });

  it.each([
    [{ variables: JSON.parse('{"nested": {"__proto__": {"polluted": true}}}') as unknown }, 'variables'],
    [{ variables: JSON.parse('{"constructor": 1}') as unknown }, 'variables'],
    [{ variables: [1, 2] }, 'variables'],
    [{ pluginDefaults: [{ type: 'not a type' }] }, 'pluginDefaults[0].type'],
    [{ pluginDefaults: [{ type: 'io.kestra.A' }, { type: 'io.kestra.A' }] }, 'pluginDefaults[1].type'],
    [{ allowedNamespaces: ['ok', 'Not..ok'] }, 'allowedNamespaces[1]'],
  ])('refuses the patch %j naming %s', (patch, field) => {
    expect(() => namespaceDecider.decide(cmd({ type: 'UpdateNamespace', data: { id: 'company.team', patch } }), created)).toThrow(
      expect.objectContaining({ code: 'BAD_USER_INPUT', extensions: expect.objectContaining({ field }) }) as Error,
    );
  });

  it('duplicate create is CONFLICT; update of a missing namespace is NOT_FOUND', () => {
    const namespaces = deciderSpec(namespaceDecider);
    const createdEvents = namespaces
      .given()
      .when(cmd({ type: 'CreateNamespace', data: { id: 'company.team' } }))
      .decided();
    namespaces
      .given(createdEvents)
      .when(cmd({ type: 'CreateNamespace', data: { id: 'company.team' } }))
      .thenThrows(expect.objectContaining({ code: 'CONFLICT' }));
    namespaces
      .given()
      .when(cmd({ type: 'UpdateNamespace', data: { id: 'x', patch: { description: 'd' } } }))
      .thenThrows(expect.objectContaining({ code: 'NOT_FOUND' }));
  });
});
