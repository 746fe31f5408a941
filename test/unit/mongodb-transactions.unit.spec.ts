/**
 * How the mongodb adapter decides, from a server's `hello` answer, whether it
 * offers multi-document transactions. The answers below are shaped like real
 * servers' (MongoDB 7 replica set member, mongos, standalone mongod, MongoDB
 * 3.6 replica set) and FerretDB 1.24's, as it answers on this machine. Only
 * the FerretDB one is also checked against a live server
 * (test/integration/transactions.int.spec.ts).
 */
import { describe, expect, it } from 'vitest';
import { detectTransactionSupport } from '../../src/readmodels/mongodb.js';

const common = { isWritablePrimary: true, maxBsonObjectSize: 16777216, maxWireVersion: 21, minWireVersion: 0, ok: 1 };

describe('detectTransactionSupport (hello answers)', () => {
  it('a replica set member with logical sessions: supported', () => {
    expect(detectTransactionSupport({ ...common, setName: 'rs0', hosts: ['mongodb:27017'], logicalSessionTimeoutMinutes: 30 })).toEqual({
      supported: true,
      reason: 'replica set rs0',
    });
  });

  it('a mongos (msg: isdbgrid) with logical sessions: supported', () => {
    expect(detectTransactionSupport({ ...common, msg: 'isdbgrid', logicalSessionTimeoutMinutes: 30 })).toEqual({
      supported: true,
      reason: 'sharded cluster (mongos)',
    });
  });

  it('a standalone mongod: not supported, and the reason says a single-node replica set will do', () => {
    const verdict = detectTransactionSupport({ ...common, logicalSessionTimeoutMinutes: 30 });
    expect(verdict.supported).toBe(false);
    expect(verdict.reason).toMatch(/standalone server.*replica sets and sharded clusters only/);
  });

  it('FerretDB: not supported, whatever it answers', () => {
    // FerretDB 1.24.2's hello, as captured on this machine: no setName, but logical sessions.
    const ferret = { ...common, maxWriteBatchSize: 100000, logicalSessionTimeoutMinutes: 30, connectionId: 42, readOnly: false };
    expect(detectTransactionSupport(ferret, '1.24.2')).toEqual({
      supported: false,
      reason: 'FerretDB 1.24.2 does not implement transactions',
    });
    // Even if a later FerretDB claimed to be a replica set.
    expect(detectTransactionSupport({ ...ferret, setName: 'rs0' }, '2.0.0').supported).toBe(false);
    // And without its buildInfo marker, its hello alone reads as a standalone server.
    expect(detectTransactionSupport(ferret).supported).toBe(false);
  });

  it('no logical sessions, or a server older than transactions: not supported', () => {
    expect(detectTransactionSupport({ ...common, setName: 'rs0' }).reason).toMatch(/no logical sessions/);
    expect(detectTransactionSupport({ ...common, setName: 'rs0', maxWireVersion: 6, logicalSessionTimeoutMinutes: 30 }).reason).toMatch(
      /older than 4\.0/,
    );
    expect(detectTransactionSupport({ ...common, msg: 'isdbgrid', maxWireVersion: 7, logicalSessionTimeoutMinutes: 30 }).reason).toMatch(
      /older than MongoDB 4\.2/,
    );
  });
});
