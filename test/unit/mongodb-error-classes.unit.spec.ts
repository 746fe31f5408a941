import { MongoBulkWriteError, MongoNetworkError, MongoServerError, MongoServerSelectionError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { isUnavailable } from '../../src/readmodels/mongodb.js';

// Errors as the driver builds them (its own constructors), classified by the adapter's real function.
describe('MongoDB errors: an outage, or an error of the data', () => {
  const bulk = (wrapped: unknown) =>
    new MongoBulkWriteError(
      wrapped as ConstructorParameters<typeof MongoBulkWriteError>[0],
      {} as ConstructorParameters<typeof MongoBulkWriteError>[1],
    );

  it('network failures, also when the driver wraps them in a MongoBulkWriteError, are outages', () => {
    expect(isUnavailable(new MongoNetworkError('connection 3 to 127.0.0.1:27017 closed'))).toBe(true);
    expect(isUnavailable(bulk(new MongoNetworkError('connection 3 to 127.0.0.1:27017 closed')))).toBe(true);
    expect(isUnavailable(bulk(new MongoServerSelectionError('connect ECONNREFUSED 127.0.0.1:27017', {} as never)))).toBe(true);
  });

  it("the server's shutting-down and not-primary answers, and FerretDB's SQLITE_BUSY, are outages", () => {
    expect(isUnavailable(new MongoServerError({ code: 91, errmsg: 'The server is in quiesce mode and will shut down' }))).toBe(true);
    expect(isUnavailable(new MongoServerError({ code: 10107, errmsg: 'not primary' }))).toBe(true);
    expect(
      isUnavailable(
        new MongoServerError({
          code: 1,
          errmsg: '[collection.go:177 sqlite.(*collection).UpdateAll.func1] database is locked (5) (SQLITE_BUSY)',
        }),
      ),
    ).toBe(true);
  });

  it('errors of the data are not: a duplicate key, a bulk write with write errors, a bad update', () => {
    expect(isUnavailable(new MongoServerError({ code: 11000, errmsg: 'E11000 duplicate key error' }))).toBe(false);
    expect(isUnavailable(bulk({ message: 'write errors', code: 11000, writeErrors: [{ code: 11000, index: 0 }] }))).toBe(false);
    expect(isUnavailable(new MongoServerError({ code: 9, errmsg: 'Modifiers operate on fields but we found type string instead' }))).toBe(
      false,
    );
  });
});
