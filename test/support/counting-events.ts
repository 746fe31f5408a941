/**
 * Wraps a real event store and counts what is read from it, so that tests can
 * prove that an operation's work does not grow with history (counts, never
 * time). Reads through `readAll`/`subscribeToAll` (the projections' tail) are
 * counted apart from stream reads (commands and time travel).
 */
import type { EventStore, RecordedEvent } from '../../src/eventstore/port.js';

export class CountingEvents {
  /** Events returned by readStream and findInStream. */
  streamEventsRead = 0;
  streamReads = 0;
  /** Events returned by readAll. */
  logEventsRead = 0;
  /** The most events one readAll returned. */
  largestLogRead = 0;

  reset(): void {
    this.streamEventsRead = 0;
    this.streamReads = 0;
    this.logEventsRead = 0;
    this.largestLogRead = 0;
  }

  readonly wrap = (inner: EventStore): EventStore => {
    return new Proxy(inner, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (typeof value !== 'function') return value;
        const call = (...args: unknown[]): unknown => (value as (...a: unknown[]) => unknown).apply(target, args);
        switch (property) {
          case 'readStream':
            return async (...args: unknown[]) => {
              const events = (await call(...args)) as RecordedEvent[];
              this.streamReads++;
              this.streamEventsRead += events.length;
              return events;
            };
          case 'findInStream':
            return async (...args: unknown[]) => {
              const event = (await call(...args)) as RecordedEvent | null;
              this.streamReads++;
              if (event) this.streamEventsRead++;
              return event;
            };
          case 'readAll':
            return async (...args: unknown[]) => {
              const events = (await call(...args)) as RecordedEvent[];
              this.logEventsRead += events.length;
              this.largestLogRead = Math.max(this.largestLogRead, events.length);
              return events;
            };
          default:
            return call;
        }
      },
    });
  };
}
