/**
 * A server that accepts connections and never answers, or stops in the middle
 * of an answer: a network partition or a stuck proxy as a client meets it.
 * Counts the connections made, so a test can see a client's retries.
 */
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface SilentServer {
  url: string;
  /** Connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

/**
 * `silent`: reads each request and answers nothing. `stalled-body`: answers a request's headers (200, a JSON body
 * announced) and then nothing more, as a connection that stalls in the middle of an answer. `drip`: the same
 * headers, then one byte of the body every 100 ms, for ever (no silence long enough for an idle timeout).
 */
export async function startSilentServer(how: 'silent' | 'stalled-body' | 'drip' = 'silent'): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  const silent: SilentServer = { url: '', connections: 0, close: async () => undefined };
  const server = createServer((socket) => {
    silent.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {}); // a client that gives up resets the connection
    let answered = false;
    socket.on('data', (chunk: Buffer) => {
      // The end of a request's headers: answer them, never the body they announce.
      if (how !== 'silent' && !answered && chunk.includes('\r\n\r\n')) {
        answered = true;
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: 100000\r\n\r\n{"Ite');
        if (how === 'drip') {
          const drip = setInterval(() => (socket.writable ? socket.write(' ') : clearInterval(drip)), 100);
          socket.on('close', () => clearInterval(drip));
        }
      }
    });
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
