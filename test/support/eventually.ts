/**
 * Waits until `check` answers something (not undefined), polling every 20 ms;
 * fails naming `what` after `timeoutMs`. For what arrives asynchronously
 * (subscription messages, exported spans): the timeout only bounds a
 * failure, so it is generous, never a measure of speed.
 */
export async function eventually<T>(check: () => T | undefined, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
