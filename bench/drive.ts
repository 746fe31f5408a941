/**
 * A client of the bounded-cost benchmarks, run as a child process so that it
 * never shares the measured server's event loop:
 *
 *   node --import tsx bench/drive.ts <file with the json options>
 *
 * - `probe`: one request every `intervalMs` (the next one waits for the
 *   previous), latencies measured here; the steady, light traffic of a
 *   tenant whose experience we measure.
 * - `loop`: one request after another, as fast as the server answers them
 *   (a tenant's heavy work, one request at a time); `bodies` rotate.
 * - `subscribe`: opens `subscriptions` graphql-ws subscriptions, then loops
 *   `bodies` as `loop` does.
 *
 * Runs until `seconds` have passed, then prints one JSON line on stdout:
 * latencies (ms) of every request, error count, and subscriptions' messages.
 */
import { readFileSync } from 'node:fs';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

interface DriveOptions {
  mode: 'probe' | 'loop' | 'subscribe';
  url: string;
  token: string;
  bodies: string[];
  seconds: number;
  intervalMs?: number;
  wsUrl?: string;
  subscriptions?: number;
  subscription?: string;
}

// A file, not an argument: request bodies (200 KB flow sources) are past the command line's limit.
const options = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as DriveOptions;
const latencies: number[] = [];
let errors = 0;
let firstError: string | null = null;
let messages = 0;

async function send(body: string): Promise<void> {
  const started = performance.now();
  try {
    const response = await fetch(options.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${options.token}` },
      body,
    });
    const text = await response.text();
    if (!response.ok || text.includes('"errors"')) {
      errors++;
      firstError ??= text.slice(0, 300);
    }
  } catch (error) {
    errors++;
    firstError ??= String(error);
  }
  latencies.push(performance.now() - started);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const disposers: (() => void)[] = [];
  if (options.mode === 'subscribe') {
    const client = createClient({
      url: options.wsUrl ?? '',
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${options.token}` },
      lazy: false,
    });
    let started = 0;
    await new Promise<void>((resolve, reject) => {
      for (let i = 0; i < (options.subscriptions ?? 0); i++) {
        const dispose = client.subscribe(
          { query: options.subscription ?? '' },
          {
            next: () => messages++,
            error: (error) => reject(new Error(JSON.stringify(error).slice(0, 300))),
            complete: () => undefined,
          },
        );
        disposers.push(dispose);
        started++;
      }
      // Give the server time to register them all before the traffic starts.
      setTimeout(resolve, 500 + 5 * started);
    });
    disposers.push(() => void client.dispose());
  }
  // Set up (subscriptions open): the benchmark starts measuring now.
  process.stdout.write('ready\n');
  const until = performance.now() + options.seconds * 1000;
  // Nothing to send (idle subscriptions): wait until the end.
  if (options.bodies.length === 0) await sleep(options.seconds * 1000);
  for (let i = 0; options.bodies.length > 0 && performance.now() < until; i++) {
    const body = options.bodies[i % options.bodies.length] ?? '';
    const started = performance.now();
    await send(body);
    // A probe is paced; a loop too when given an interval (a load that stays within its rate limit).
    if (options.mode === 'probe' || options.intervalMs !== undefined) {
      const wait = (options.intervalMs ?? 20) - (performance.now() - started);
      if (wait > 0) await sleep(wait);
    }
  }
  for (const dispose of disposers) dispose();
  process.stdout.write(`${JSON.stringify({ latencies, errors, firstError, messages })}\n`);
  process.exit(0);
}

await main();
