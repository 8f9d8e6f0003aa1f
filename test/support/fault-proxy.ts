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
 * learns it), keep it to deliver later (`hold`: the caller sees a 500), answer
 * an AWS error, pass the request on after a delay, or pass it on at once and hold its answer
 * (`answerAfterMs`: the service acted, its answer arrives late).
 */
export type Fault = 'down' | 'lost-answer' | 'hold' | { status: number; type: string } | { delayMs: number } | { answerAfterMs: number };

/** A request as it was sent (signed headers and body), to be delivered later, as often as wanted. */
export interface HeldRequest {
  target: string;
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
  url: string;
}

export interface FaultProxy {
  url: string;
  /** Decides per request (by X-Amz-Target and body) whether and how it fails; undefined passes it through. */
  rule: ((target: string, body: string) => Fault | undefined) | undefined;
  /** Requests seen, by X-Amz-Target. */
  seen: string[];
  /** Every request passed through or held, as sent: a hostile carrier keeps them to replay. */
  recorded: HeldRequest[];
  /** Requests held (`hold`): answered 500 to the sender, never delivered until `deliver`. */
  held: HeldRequest[];
  /** Sends requests upstream now (the same signed bytes), one after another; their HTTP statuses. */
  deliver(requests: HeldRequest[]): Promise<number[]>;
  close(): Promise<void>;
}

export async function startFaultProxy(targetUrl: string): Promise<FaultProxy> {
  const target = new URL(targetUrl);
  const send = (r: HeldRequest): Promise<number> =>
    new Promise((resolve) => {
      const upstream = request({ host: target.hostname, port: target.port, path: r.url, method: 'POST', headers: r.headers }, (answer) => {
        answer.resume();
        answer.on('end', () => resolve(answer.statusCode ?? 0));
      });
      upstream.on('error', () => resolve(0));
      upstream.end(r.body);
    });
  const proxy: FaultProxy = {
    url: '',
    rule: undefined,
    seen: [],
    recorded: [],
    held: [],
    deliver: async (requests) => {
      const statuses: number[] = [];
      for (const r of requests) statuses.push(await send(r));
      return statuses;
    },
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const op = String(req.headers['x-amz-target'] ?? '');
      proxy.seen.push(op);
      const copy: HeldRequest = { target: op, body, headers: { ...req.headers }, url: req.url ?? '/' };
      proxy.recorded.push(copy);
      const fault = proxy.rule?.(op, body.toString('utf8'));
      if (fault === 'hold') {
        // As a carrier that keeps the request: the sender sees a server error (and may retry: a second copy).
        proxy.held.push(copy);
        res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: 'held' }));
        return;
      }
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
      if (fault && 'answerAfterMs' in fault) {
        const upstream = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('end', () =>
            setTimeout(() => {
              if (res.destroyed) return; // the caller gave up meanwhile
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              res.end(Buffer.concat(chunks));
            }, fault.answerAfterMs),
          );
        });
        upstream.on('error', () => res.destroy());
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
