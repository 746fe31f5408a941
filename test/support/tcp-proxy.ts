import net from 'node:net';

/**
 * A TCP forwarder in front of a real server, to inject network faults an
 * operator meets: `freeze()` keeps every connection open but forwards
 * nothing (a partition that sends no reset: replies never come), `hold()`
 * keeps the bytes and delivers them on `thaw()` (a server that answers, but
 * late: overloaded, or paused), `thaw()` resumes forwarding; `cut()` resets every connection and refuses new ones
 * until `thaw()`.
 */
export interface TcpProxy {
  port: number;
  freeze(): void;
  hold(): void;
  cut(): void;
  thaw(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
  let mode: 'open' | 'frozen' | 'held' | 'cut' = 'open';
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  /** Bytes kept while held, in arrival order, delivered on thaw. */
  let held: { to: net.Socket; chunk: Buffer }[] = [];
  const server = net.createServer((client) => {
    if (mode === 'cut') {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    const pair = { client, upstream };
    pairs.add(pair);
    const forward = (from: net.Socket, to: net.Socket) =>
      from.on('data', (chunk: Buffer) => {
        // Frozen: bytes are swallowed, as a dead link would. Held: kept for later.
        if (mode === 'open') to.write(chunk);
        else if (mode === 'held') held.push({ to, chunk });
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('proxy has no address');
  return {
    port: address.port,
    freeze: () => {
      mode = 'frozen';
    },
    cut: () => {
      mode = 'cut';
      for (const { client, upstream } of pairs) {
        client.resetAndDestroy();
        upstream.destroy();
      }
      pairs.clear();
    },
    hold: () => {
      mode = 'held';
    },
    thaw: () => {
      mode = 'open';
      for (const { to, chunk } of held) if (!to.destroyed) to.write(chunk);
      held = [];
    },
    close: async () => {
      for (const { client, upstream } of pairs) {
        client.destroy();
        upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
