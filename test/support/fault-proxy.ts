/**
 * A fault injector for tests: an HTTP proxy in front of a local stand-in
 * (dynalite, the local KMS, a chain's node) that passes requests through, or
 * fails the ones a rule picks: by dropping the connection (the service is down) or answering
 * an AWS error (the service refuses).
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Drop the connection (`down`), pass the request on but drop the connection
 * instead of answering (`lost-answer`: the service acted, the caller never
 * learns it), answer an AWS error, or pass the request on after a delay.
 */
export type Fault = 'down' | 'lost-answer' | { status: number; type: string } | { delayMs: number };

export interface FaultProxy {
  url: string;
  /** Decides per request (by X-Amz-Target and body) whether and how it fails; undefined passes it through. */
  rule: ((target: string, body: string) => Fault | undefined) | undefined;
  /** Requests seen, by X-Amz-Target. */
  seen: string[];
  close(): Promise<void>;
}

export async function startFaultProxy(targetUrl: string): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  const proxy: FaultProxy = { url: '', rule: undefined, seen: [], close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const op = String(req.headers['x-amz-target'] ?? '');
      proxy.seen.push(op);
      const fault = proxy.rule?.(op, body.toString('utf8'));
      if (fault === 'down') {
        req.socket.destroy();
        return;
      }
      if (fault === 'lost-answer') {
        const upstream = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
          answer.resume();
          answer.on('end', () => req.socket.destroy());
        });
        upstream.on('error', () => req.socket.destroy());
        upstream.end(body);
        return;
      }
      if (fault && 'delayMs' in fault) {
        setTimeout(() => forward(), fault.delayMs);
        return;
      }
      if (fault) {
        res.writeHead(fault.status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'fault' });
        res.end(JSON.stringify({ __type: fault.type, message: 'injected fault' }));
        return;
      }
      forward();
      function forward(): void {
        const upstream = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        upstream.on('error', () => res.destroy());
        upstream.end(body);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return proxy;
}
