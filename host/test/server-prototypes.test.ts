/**
 * The host's server builds each request and response on the app's own prototypes (createHostServer's
 * `prototypes`, as main.ts passes them), so that Express's `Object.setPrototypeOf` on every request changes
 * nothing: changing the prototype of a live object made V8 keep each request's objects alive through
 * scavenges (docs/performance.md, fourteenth look). Checked here: the prototypes as the request arrives, before
 * Express sees it, over several requests on one kept-alive connection, and that Express answers as before.
 */
import { Agent, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createHostServer } from '../src/server.js';

function post(port: number, agent: Agent, body: string): Promise<{ status: number; text: string; headers: IncomingMessage['headers'] }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/echo',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function serve(withPrototypes: boolean): Promise<{ server: Server; port: number; arrived: Array<[boolean, boolean]> }> {
  const app = express();
  app.post('/echo', (req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (text += c));
    req.on('end', () => {
      res.status(201).json({ echoed: JSON.parse(text) as unknown, ip: req.ip, path: req.path });
    });
  });
  const server = createHostServer(app, {
    maxConnectionsPerAddress: 0,
    ...(withPrototypes ? { prototypes: { request: app.request, response: app.response } } : {}),
  });
  const arrived: Array<[boolean, boolean]> = [];
  // Runs before the app: what Node built, before Express sets anything.
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    arrived.push([Object.getPrototypeOf(req) === app.request, Object.getPrototypeOf(res) === app.response]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, arrived };
}

test('requests and responses arrive on the app’s prototypes, and Express answers as before', async () => {
  const { server, port, arrived } = await serve(true);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    for (let i = 0; i < 3; i++) {
      const out = await post(port, agent, JSON.stringify({ n: i }));
      expect(out.status).toBe(201);
      expect(out.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(out.text)).toEqual({ echoed: { n: i }, ip: '127.0.0.1', path: '/echo' });
    }
    expect(arrived).toEqual([
      [true, true],
      [true, true],
      [true, true],
    ]);
  } finally {
    agent.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('without `prototypes`, Node builds plain ones (what Express then has to change)', async () => {
  const { server, port, arrived } = await serve(false);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const out = await post(port, agent, '{"n":1}');
    expect(out.status).toBe(201);
    expect(arrived).toEqual([[false, false]]);
  } finally {
    agent.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
});
