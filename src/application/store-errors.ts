/**
 * The stores' errors the API layer maps onto its error codes (a store that
 * does not answer, one that refuses work while overloaded): re-exported
 * here so that the GraphQL layer depends on the application only, never on
 * a store's port.
 */
export { DocumentStoreOverloadedError, DocumentStoreUnavailableError } from '../readmodels/port.js';
export { EventStoreUnavailableError } from '../eventstore/port.js';
export { VaultUnavailableError } from '../secrets/vault.js';
