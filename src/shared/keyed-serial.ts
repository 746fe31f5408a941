/**
 * One at a time per key, inside this process: `run(key, work)` starts `work`
 * after every piece of work queued on the same key before it has settled
 * (fulfilled or rejected); work on different keys runs concurrently. A key's
 * queue is forgotten once it is empty, so the map holds only keys with work
 * in flight.
 *
 * The command handler queues commands per stream with it (commands on one
 * aggregate never race each other in one process), and a secret's put queues
 * its read → claim a version → append loop the same way.
 */
export class KeyedSerial {
  /** Per key, the end of its queue. */
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let done: () => void = () => undefined;
    const tail = previous.then(() => new Promise<void>((resolve) => (done = resolve)));
    this.tails.set(key, tail);
    await previous;
    try {
      return await work();
    } finally {
      done();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with work queued or running (for tests and metrics). */
  get size(): number {
    return this.tails.size;
  }
}
