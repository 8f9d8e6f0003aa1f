/**
 * A server that accepts connections and never answers: a network partition
 * or a stuck proxy as a client meets it. Counts the connections made, so a
 * test can see a client's retries.
 */
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface SilentServer {
  url: string;
  /** Connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  const silent: SilentServer = { url: '', connections: 0, close: async () => undefined };
  const server = createServer((socket) => {
    silent.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {}); // a client that gives up resets the connection
    socket.resume(); // reads what is sent, answers nothing
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  silent.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  silent.close = () =>
    new Promise((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  return silent;
}
