/**
 * The SQLite log's cache of the events this process committed last, by
 * position, so that projections tailing the log read them from memory.
 */
import type { RecordedEvent } from './port.js';

const RECENT_CACHE_SIZE = 20_000;

/**
 * The events this process committed last, by position. Every projection
 * tails the log; without this, each append would be re-read and re-parsed
 * once per projection. Events are immutable, so serving them from memory is
 * safe; positions written by another process are not here, and a read that
 * meets such a gap goes to SQLite for the rest.
 */
export class RecentEvents {
  private readonly recent = new Map<number, RecordedEvent>();

  remember(events: readonly RecordedEvent[]): void {
    for (const event of events) this.recent.set(event.position, event);
    for (const position of this.recent.keys()) {
      if (this.recent.size <= RECENT_CACHE_SIZE) break;
      this.recent.delete(position);
    }
  }

  /** Events after `after` from the cache, contiguous only; `complete` is false when a gap stopped it before maxCount. */
  read(after: number, maxCount: number, streamPrefix: string): { events: RecordedEvent[]; last: number; complete: boolean } {
    const events: RecordedEvent[] = [];
    let position = after + 1;
    for (let event = this.recent.get(position); event; event = this.recent.get(position)) {
      if (streamPrefix === '' || event.streamName.startsWith(streamPrefix)) events.push(event);
      if (events.length === maxCount) return { events, last: position, complete: true };
      position++;
    }
    return { events, last: position - 1, complete: false };
  }
}
