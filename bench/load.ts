/**
 * The load generator of bench/gateway-vs-baseline.ts, run as a child process
 * so that it does not share the event loop (and the core) of the server it
 * measures:
 *
 *   node --import tsx bench/load.ts '<json options>'
 *
 * Options: { url, seconds, connections, token?, body? , mutation? }. With
 * `mutation: true` every request creates a new namespace (a fresh id per
 * request). Prints autocannon's result as one JSON line on stdout.
 */
import autocannon from 'autocannon';

interface LoadOptions {
  url: string;
  seconds: number;
  connections: number;
  token?: string;
  body?: string;
  mutation?: boolean;
}

const options = JSON.parse(process.argv[2] ?? '{}') as LoadOptions;
const headers: Record<string, string> = { 'content-type': 'application/json' };
if (options.token) headers['authorization'] = `Bearer ${options.token}`;
let counter = 0;
const prefix = `bench.p${process.pid}n`;
const result = await autocannon({
  url: options.url,
  duration: options.seconds,
  connections: options.connections,
  method: 'POST',
  headers,
  ...(options.mutation
    ? {
        requests: [
          {
            setupRequest: (request) => ({
              ...request,
              body: JSON.stringify({
                query: 'mutation($id: ID!) { createNamespace(input: {id: $id}) { id revision } }',
                variables: { id: `${prefix}${counter++}` },
              }),
            }),
          },
        ],
      }
    : { body: options.body ?? '' }),
});
process.stdout.write(
  `${JSON.stringify({
    average: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    total: result.requests.total,
  })}\n`,
);
