/**
 * The guard's HTTP/1.1 client (src/guard/http1.ts): answers read the same in
 * whatever pieces they come (every split of each answer, and byte by byte),
 * everything that is not a well-formed answer within the limits refused, and
 * the connection pool against a raw TCP server that shows what the client
 * did on the wire (connections kept, closed, limited, timed out).
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { DynamoDb } from '../src/guard/dynamodb.js';
import { AnswerReader, Http1Client, Http1Error, tcpConnector, tlsConnector, type Answer, type Connect } from '../src/guard/http1.js';

const LIMIT = 4096;

/** Reads `wire` in the given pieces; the answer, or the error thrown. */
function readIn(wire: Buffer, cuts: number[], ended = false): Answer | Error {
  const reader = new AnswerReader(LIMIT);
  let answer: Answer | undefined;
  try {
    let from = 0;
    for (const cut of [...cuts, wire.length]) {
      if (cut > from) answer = reader.push(wire.subarray(from, cut)) ?? answer;
      from = cut;
    }
    if (ended && !answer) answer = reader.end();
    if (!answer) return new Error('incomplete');
    return answer;
  } catch (err) {
    return err as Error;
  }
}

const good: Array<[string, string, { status: number; body: string; keep: boolean; idleSeconds?: number }, boolean?]> = [
  [
    'a Content-Length body',
    'HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 11\r\n\r\n{"Item":{}}',
    { status: 200, body: '{"Item":{}}', keep: true },
  ],
  ['an empty body', 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n', { status: 200, body: '', keep: true }],
  [
    'a chunked body with extensions and trailers',
    'HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n5;name=x\r\n{"__t\r\nA\r\nype":"x#y"\r\n1\r\n}\r\n0\r\nx-amz-crc32: 1\r\n\r\n',
    { status: 400, body: '{"__type":"x#y"}', keep: true },
  ],
  [
    'interim answers before the answer',
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}',
    { status: 200, body: '{}', keep: true },
  ],
  [
    'Connection: close, and the server’s idle timeout',
    'HTTP/1.1 200 OK\r\nConnection: close\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 2\r\n\r\n{}',
    { status: 200, body: '{}', keep: false, idleSeconds: 5 },
  ],
  ['HTTP/1.0 closes unless asked to keep', 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}', { status: 200, body: '{}', keep: false }],
  ['HTTP/1.0 with keep-alive', 'HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\n{}', { status: 200, body: '{}', keep: true }],
  ['204 without a length', 'HTTP/1.1 204 No Content\r\n\r\n', { status: 204, body: '', keep: true }],
  ['204 with a length: still no body', 'HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n', { status: 204, body: '', keep: true }],
  [
    'whitespace before a chunk extension',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 \t;x=y\r\n{}\r\n0\r\n\r\n',
    { status: 200, body: '{}', keep: true },
  ],
  ['a body to the connection’s end', 'HTTP/1.1 500 Internal Server Error\r\n\r\n{"m":"x"}', { status: 500, body: '{"m":"x"}', keep: false }, true],
  [
    'header names in any case, values trimmed, a status line without reason',
    'HTTP/1.1 200\r\nCONTENT-length:    3  \r\nX-Odd:\r\n\r\nabc',
    { status: 200, body: 'abc', keep: true },
  ],
];

describe('answers in any pieces', () => {
  test.each(good)('%s: every split in two and three, and byte by byte', (_, text, expected, ended = false) => {
    const wire = Buffer.from(text, 'latin1');
    const check = (result: Answer | Error): void => {
      if (result instanceof Error) throw result;
      expect({ status: result.head.status, body: result.body.toString('latin1'), keep: result.head.keep }).toEqual({
        status: expected.status,
        body: expected.body,
        keep: expected.keep,
      });
      if (expected.idleSeconds !== undefined) expect(result.head.idleSeconds).toBe(expected.idleSeconds);
    };
    for (let i = 0; i <= wire.length; i++) {
      check(readIn(wire, [i], ended));
      for (let j = i; j <= wire.length; j += 3) check(readIn(wire, [i, j], ended));
    }
    check(
      readIn(
        wire,
        Array.from({ length: wire.length }, (_, i) => i),
        ended,
      ),
    );
  });

  test('what is not body is bounded on its own: a large body limit admits no more than 64 KiB of heads and framing', () => {
    const reader = () => new AnswerReader(4 * 1024 * 1024);
    const interim = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n'.repeat(20_000));
    expect(() => reader().push(interim)).toThrow(/too large/);
    const framing = Buffer.from(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${'1\r\na\r\n'.repeat(20_000)}`);
    expect(() => reader().push(framing)).toThrow(/too large/);
    // A body as large as the limit allows, in chunks of 64 KiB, is read.
    const big = Buffer.concat([
      Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
      ...Array.from({ length: 64 }, () => Buffer.concat([Buffer.from('10000\r\n'), Buffer.alloc(0x10000, 0x62), Buffer.from('\r\n')])),
      Buffer.from('0\r\n\r\n'),
    ]);
    expect(reader().push(big)?.body.length).toBe(4 * 1024 * 1024);
  });

  test('a body split across many pieces is whole and exact; a body within the limit is kept, one byte more refused', () => {
    const body = Buffer.alloc(LIMIT, 0x61);
    const cl = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${LIMIT}\r\n\r\n`), body]);
    const result = readIn(
      cl,
      Array.from({ length: 50 }, (_, i) => 7 + i * 97),
    );
    expect(result).not.toBeInstanceOf(Error);
    expect((result as Answer).body.equals(body)).toBe(true);
    expect(readIn(Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${LIMIT + 1}\r\n\r\n`), [])).toMatchObject({ message: 'the answer is too large' });
    // Chunked: the sum of the chunks counts.
    const chunks = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${(LIMIT / 2).toString(16)}\r\n${'a'.repeat(LIMIT / 2)}\r\n${(LIMIT / 2 + 1).toString(16)}\r\n`;
    expect(readIn(Buffer.from(chunks + 'a'.repeat(LIMIT / 2 + 1)), [])).toMatchObject({ message: 'the answer is too large' });
    // To the connection's end.
    expect(readIn(Buffer.from(`HTTP/1.1 200 OK\r\n\r\n${'a'.repeat(LIMIT + 1)}`), [], true)).toMatchObject({ message: 'the answer is too large' });
  });
});

describe('refused', () => {
  const bad: Array<[string, string, RegExp, boolean?]> = [
    ['not HTTP', 'SSH-2.0-OpenSSH\r\n\r\n', /not HTTP/],
    ['HTTP/2 in an HTTP/1.1 status line', 'HTTP/2 200 OK\r\n\r\n', /not HTTP/],
    ['a status that is not three digits', 'HTTP/1.1 20 OK\r\n\r\n', /not HTTP/],
    ['a status of 0xx', 'HTTP/1.1 099 X\r\n\r\n', /not HTTP/],
    ['a switch of protocols', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n', /switched protocols/],
    ['a header line without a colon', 'HTTP/1.1 200 OK\r\nContent-Length 2\r\n\r\n{}', /malformed/],
    ['a folded header line', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  2\r\nContent-Length: 2\r\n\r\n{}', /malformed/],
    ['a space before the colon', 'HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\n{}', /malformed/],
    ['a negative Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', /Content-Length/],
    ['two Content-Lengths that differ', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x', /Content-Length/],
    ['a Content-Length list', 'HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\n{}', /Content-Length/],
    ['a length and chunks', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', /both/],
    ['a transfer coding in an HTTP/1.0 answer', 'HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', /not supported/],
    // What a body may carry besides its bytes is bounded too (framing, extensions, interim answers).
    [
      '1-byte chunks padded with extensions',
      `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${`1;${'x'.repeat(1000)}\r\na\r\n`.repeat(80)}`,
      /too large/,
    ],
    ['an endless run of interim answers', 'HTTP/1.1 100 Continue\r\n\r\n'.repeat(3000), /too large/],
    ['a transfer coding other than chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n', /not supported/],
    ['a chunk size that is not hex', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /chunk size/],
    ['a chunk size with a sign', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+2\r\n{}\r\n0\r\n\r\n', /chunk size/],
    ['a chunk longer than its size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{}\r\n0\r\n\r\n', /chunk of the answer is malformed/],
    ['a bare LF in the chunk lines', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\n{}\r\n0\r\n\r\n', /malformed/],
    ['a chunk size line without end', `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${'0'.repeat(2000)}`, /too long/],
    ['bytes after the answer', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 200 OK\r\n', /more than one answer/],
    ['bytes after a chunked answer', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nx', /more than one answer/],
    ['a head without end', `HTTP/1.1 200 OK\r\nX-A: ${'a'.repeat(17 * 1024)}`, /head is too large/],
    ['a head too large', `HTTP/1.1 200 OK\r\nX-A: ${'a'.repeat(17 * 1024)}\r\nContent-Length: 0\r\n\r\n`, /head is too large/],
    ['an end before the answer', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}', /closed before the answer/, true],
    ['an end in the head', 'HTTP/1.1 200 OK\r\nContent-Len', /closed before the answer/, true],
    ['an end in a chunked body', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n', /closed before the answer/, true],
  ];
  test.each(bad)('%s', (_, text, message, ended = false) => {
    const wire = Buffer.from(text, 'latin1');
    // Whole, and byte by byte: the same refusal.
    for (const cuts of [[], Array.from({ length: wire.length }, (_, i) => i)]) {
      const result = readIn(wire, cuts, ended);
      expect(result).toBeInstanceOf(Http1Error);
      expect((result as Error).message).toMatch(message);
    }
  });
});

/** A raw TCP server: `answer` decides what each request gets; records connections and requests. */
async function rawServer(answer: (request: string, socket: Socket, index: number) => void): Promise<{
  server: Server;
  port: number;
  connections: Socket[];
  requests: string[];
}> {
  const connections: Socket[] = [];
  const requests: string[] = [];
  const server = createServer((socket) => {
    connections.push(socket);
    let pending = '';
    socket.on('data', (d: Buffer) => {
      pending += d.toString('latin1');
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(pending.slice(0, end))?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        const request = pending.slice(0, end + 4 + length);
        pending = pending.slice(end + 4 + length);
        requests.push(request);
        answer(request, socket, requests.length - 1);
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, connections, requests };
}
const ok = (body = '{}'): string => `HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
const stop = (server: Server): Promise<void> => new Promise((r) => server.close(() => r()));
const head = 'POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n';

describe('connections', () => {
  test('one request, then the next on the same connection; the request is one write of head and body', async () => {
    const s = await rawServer((_, socket, i) => socket.write(ok(`{"n":${i}}`)));
    const client = new Http1Client(tcpConnector('127.0.0.1', s.port), { maxSockets: 4, timeoutMs: 2000 });
    try {
      for (let i = 0; i < 5; i++) {
        const a = await client.request(head, '{}');
        expect([a.status, a.body.toString()]).toEqual([200, `{"n":${i}}`]);
      }
      expect(s.connections).toHaveLength(1);
      expect(s.requests).toEqual(Array(5).fill(head + '{}'));
    } finally {
      client.destroy();
      await stop(s.server);
    }
  });

  test('many at once: at most maxSockets connections, every request answered, in any order', async () => {
    const s = await rawServer((request, socket) => setTimeout(() => socket.write(ok(JSON.stringify(request.slice(-8)))), Math.random() * 20));
    const client = new Http1Client(tcpConnector('127.0.0.1', s.port), { maxSockets: 3, timeoutMs: 5000 });
    try {
      const bodies = Array.from({ length: 40 }, (_, i) => `{"i":${String(i).padStart(2, '0')}}`);
      const answers = await Promise.all(bodies.map((b) => client.request(`POST / HTTP/1.1\r\ncontent-length: ${b.length}\r\n\r\n`, b)));
      expect(answers.map((a) => JSON.parse(a.body.toString()) as string)).toEqual(bodies.map((b) => b.slice(-8)));
      expect(s.connections.length).toBeLessThanOrEqual(3);
      expect(s.requests).toHaveLength(40);
    } finally {
      client.destroy();
      await stop(s.server);
    }
  });

  test('Connection: close, and a server that closed a kept connection: the next request gets a new one', async () => {
    const s = await rawServer((_, socket, i) => {
      if (i === 0) socket.end(`HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}`);
      else if (i === 1)
        socket.end(ok()); // kept as far as the client knows, then closed
      else socket.write(ok());
    });
    const client = new Http1Client(tcpConnector('127.0.0.1', s.port), { maxSockets: 1, timeoutMs: 2000 });
    try {
      await client.request(head, '{}');
      await client.request(head, '{}');
      await new Promise((r) => setTimeout(r, 50)); // the server's FIN arrives while the connection is idle
      await client.request(head, '{}');
      expect(s.connections).toHaveLength(3);
    } finally {
      client.destroy();
      await stop(s.server);
    }
  });

  test('a server that never answers: the request fails after the timeout, its connection is closed, the next one works', async () => {
    const s = await rawServer((_, socket, i) => {
      if (i > 0) socket.write(ok());
    });
    const client = new Http1Client(tcpConnector('127.0.0.1', s.port), { maxSockets: 1, timeoutMs: 150 });
    try {
      await expect(client.request(head, '{}')).rejects.toThrow(/timed out/);
      await new Promise((r) => setTimeout(r, 30));
      expect(s.connections[0]!.destroyed || s.connections[0]!.readableEnded).toBe(true);
      await expect(client.request(head, '{}')).resolves.toMatchObject({ status: 200 });
      expect(s.connections).toHaveLength(2);
    } finally {
      client.destroy();
      await stop(s.server);
    }
  });

  test('a malformed answer fails its request and closes the connection; bytes on an idle connection close it', async () => {
    const s = await rawServer((_, socket, i) => {
      if (i === 0) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n');
      else {
        socket.write(ok());
        setTimeout(() => socket.write('HTTP/1.1 200 OK\r\n'), 20);
      }
    });
    const client = new Http1Client(tcpConnector('127.0.0.1', s.port), { maxSockets: 1, timeoutMs: 2000 });
    try {
      await expect(client.request(head, '{}')).rejects.toThrow(/both a Content-Length and a chunked body/);
      await client.request(head, '{}');
      await new Promise((r) => setTimeout(r, 60));
      await client.request(head, '{}');
      expect(s.connections).toHaveLength(3);
    } finally {
      client.destroy();
      await stop(s.server);
    }
  });

  test('an answer cut by the connection’s end fails; a body that runs to the end is read', async () => {
    const s = await rawServer((_, socket, i) => {
      if (i === 0) socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}');
      else socket.end('HTTP/1.1 503 Service Unavailable\r\n\r\n{"m":"later"}');
    });
    const client = new Http1Client(tcpConnector('127.0.0.1', s.port), { maxSockets: 1, timeoutMs: 2000 });
    try {
      await expect(client.request(head, '{}')).rejects.toThrow(/closed before the answer/);
      const a = await client.request(head, '{}');
      expect([a.status, a.body.toString()]).toEqual([503, '{"m":"later"}']);
    } finally {
      client.destroy();
      await stop(s.server);
    }
  });

  test('an idle connection is closed a second before the server’s Keep-Alive timeout', async () => {
    const s = await rawServer((_, socket) => socket.write('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 2\r\n\r\n{}'));
    const client = new Http1Client(tcpConnector('127.0.0.1', s.port), { maxSockets: 1, timeoutMs: 2000 });
    try {
      await client.request(head, '{}');
      const closed = new Promise((r) => s.connections[0]!.once('end', r));
      await closed; // timeout=1: closed by the client at once (0 ms before the server would)
      await client.request(head, '{}');
      expect(s.connections).toHaveLength(2);
    } finally {
      client.destroy();
      await stop(s.server);
    }
  });

  test('no server: the request fails with the connection error; destroy fails what waits and what is in flight', async () => {
    const closed = await rawServer(() => {});
    await stop(closed.server);
    const none = new Http1Client(tcpConnector('127.0.0.1', closed.port), { maxSockets: 1, timeoutMs: 2000 });
    await expect(none.request(head, '{}')).rejects.toThrow(/could not connect/);

    const s = await rawServer(() => {});
    const client = new Http1Client(tcpConnector('127.0.0.1', s.port), { maxSockets: 1, timeoutMs: 5000 });
    const inFlight = client.request(head, '{}').catch((e: Error) => e.message);
    const waiting = client.request(head, '{}').catch((e: Error) => e.message);
    await new Promise((r) => setTimeout(r, 50));
    client.destroy();
    expect(await inFlight).toMatch(/closed/);
    expect(await waiting).toMatch(/closed/);
    await expect(client.request(head, '{}')).rejects.toThrow(/closed/);
    await stop(s.server);
  });
});

describe('connections that do not come, and requests that do not wait', () => {
  test('a connection attempt that never completes ends at its own deadline: the request fails on time, the slot comes back', async () => {
    const s = await rawServer((_, socket) => socket.write(ok()));
    let calls = 0;
    let abandoned = false;
    const direct = tcpConnector('127.0.0.1', s.port);
    const connect: Connect = (signal) => {
      if (++calls > 1) return direct(signal);
      // The first connection never completes (a handshake the other end stalls), until abandoned.
      return new Promise((_, reject) =>
        signal.addEventListener('abort', () => {
          abandoned = true;
          reject(new Error('abandoned'));
        }),
      );
    };
    const client = new Http1Client(connect, { maxSockets: 1, timeoutMs: 150 });
    try {
      await expect(client.request(head, '{}')).rejects.toThrow(/timed out: no connection/);
      for (let i = 0; i < 50 && !abandoned; i++) await new Promise((r) => setTimeout(r, 10));
      expect(abandoned).toBe(true);
      await expect(client.request(head, '{}')).resolves.toMatchObject({ status: 200 });
      expect(calls).toBe(2);
    } finally {
      client.destroy();
      await stop(s.server);
    }
  });

  test('a connector that ignores the abort and never settles: the request fails on time, and its slot comes back anyway', async () => {
    const s = await rawServer((_, socket) => socket.write(ok()));
    let calls = 0;
    const direct = tcpConnector('127.0.0.1', s.port);
    const client = new Http1Client((signal) => (++calls === 1 ? new Promise<never>(() => {}) : direct(signal)), { maxSockets: 1, timeoutMs: 150 });
    try {
      await expect(client.request(head, '{}')).rejects.toThrow(/timed out/);
      await expect(client.request(head, '{}')).resolves.toMatchObject({ status: 200 });
    } finally {
      client.destroy();
      await stop(s.server);
    }
  });

  test('a connector that rejects with something that is not an Error: the request fails with a clear error, the next one goes on', async () => {
    const s = await rawServer((_, socket) => socket.write(ok()));
    let calls = 0;
    const direct = tcpConnector('127.0.0.1', s.port);
    const client = new Http1Client((signal) => (++calls === 1 ? Promise.reject(undefined) : direct(signal)), { maxSockets: 1, timeoutMs: 2000 });
    try {
      const [first, second] = await Promise.allSettled([client.request(head, '{}'), client.request(head, '{}')]);
      expect(first).toMatchObject({ status: 'rejected', reason: { name: 'Http1Error', message: 'could not connect: undefined' } });
      expect(second).toMatchObject({ status: 'fulfilled', value: { status: 200 } });
    } finally {
      client.destroy();
      await stop(s.server);
    }
  });

  test('a connector that always throws, with 20,000 requests queued: each fails, without recursion through the queue', async () => {
    const s = await rawServer(() => {});
    let calls = 0;
    const direct = tcpConnector('127.0.0.1', s.port);
    const client = new Http1Client(
      (signal) => {
        if (++calls === 1) return direct(signal);
        throw new Error('no more connections');
      },
      { maxSockets: 1, timeoutMs: 10_000 },
    );
    try {
      const all = Array.from({ length: 20_000 }, () => client.request(head, '{}'));
      while (s.connections.length === 0) await new Promise((r) => setTimeout(r, 5));
      s.connections[0]!.end(); // the one connection closes; every queued request then asks the connector
      const results = await Promise.allSettled(all);
      // (A close, or a reset where the request's bytes were still unread: either way the request fails.)
      expect(results[0]).toMatchObject({ status: 'rejected', reason: { name: 'Http1Error' } });
      expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(/closed before the answer|ECONNRESET/);
      expect(results.slice(1).every((r) => r.status === 'rejected' && /could not connect: no more connections/.test(String(r.reason)))).toBe(true);
    } finally {
      client.destroy();
      await stop(s.server);
    }
  });

  test('a TLS handshake the server never answers: its connection is closed at the deadline', async () => {
    const s = await rawServer(() => {});
    const client = new Http1Client(tlsConnector('127.0.0.1', s.port), { maxSockets: 1, timeoutMs: 150 });
    try {
      await expect(client.request(head, '{}')).rejects.toThrow(/timed out/);
      const socket = s.connections[0]!;
      if (!socket.destroyed) await new Promise((r) => socket.once('close', r));
      expect(socket.destroyed).toBe(true);
    } finally {
      client.destroy();
      await stop(s.server);
    }
  });

  test('20,000 requests that time out waiting: all fail on time, nothing overflows, few connections are made', async () => {
    const s = await rawServer(() => {});
    const client = new Http1Client(tcpConnector('127.0.0.1', s.port), { maxSockets: 2, timeoutMs: 300 });
    try {
      const results = await Promise.allSettled(Array.from({ length: 20_000 }, () => client.request(head, '{}')));
      expect(results.every((r) => r.status === 'rejected' && /timed out/.test(String(r.reason)))).toBe(true);
      // Two connections at first, then one in place of each that a timed-out request closed while later requests
      // still waited. How many that is depends on how the event loop interleaves the 20,000 timers with the
      // connections' completions (5 to 18 in a loop of runs on an idle 2-core machine; a bound of 8 failed under
      // the full suite's load): the property is that it stays a few, never one per request (20,000).
      expect(s.connections.length).toBeLessThan(200);
      // And none of them is left queued (each held its request's head and body).
      expect((client as unknown as { waiting: unknown[] }).waiting).toHaveLength(0);
    } finally {
      client.destroy();
      await stop(s.server);
    }
  });

  test('a connector that throws: the request fails, and its slot is not lost', async () => {
    const s = await rawServer((_, socket) => socket.write(ok()));
    let calls = 0;
    const direct = tcpConnector('127.0.0.1', s.port);
    const client = new Http1Client(
      (signal) => {
        if (++calls === 1) throw new Error('bad address');
        return direct(signal);
      },
      { maxSockets: 1, timeoutMs: 1000 },
    );
    try {
      await expect(client.request(head, '{}')).rejects.toThrow(/could not connect: bad address/);
      await expect(client.request(head, '{}')).resolves.toMatchObject({ status: 200 });
    } finally {
      client.destroy();
      await stop(s.server);
    }
  });

  test('destroy while a connection is being made: the request fails at once, and the connection that comes later is closed', async () => {
    const s = await rawServer((_, socket) => socket.write(ok()));
    const direct = tcpConnector('127.0.0.1', s.port);
    let late: import('node:stream').Duplex | undefined;
    // A connector that ignores the abort and delivers its connection anyway.
    const client = new Http1Client(
      () =>
        new Promise((resolve) =>
          setTimeout(
            () =>
              void direct(new AbortController().signal).then((socket) => {
                late = socket;
                resolve(socket);
              }),
            50,
          ),
        ),
      { maxSockets: 1, timeoutMs: 2000 },
    );
    const pending = client.request(head, '{}');
    await new Promise((r) => setTimeout(r, 10));
    client.destroy();
    // At once, not when the connection comes.
    await expect(pending).rejects.toThrow('the client was closed');
    expect(late).toBeUndefined();
    for (let i = 0; i < 100 && !late?.destroyed; i++) await new Promise((r) => setTimeout(r, 10));
    expect(late?.destroyed).toBe(true);
    expect(s.requests).toHaveLength(0);
    await stop(s.server);
  });

  test('the request head cannot be split: credentials a header cannot carry are refused before any request', () => {
    const make = (credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) => () =>
      new DynamoDb({ region: 'us-east-1', endpoint: 'http://127.0.0.1:1', credentials });
    expect(make({ accessKeyId: 'AKID\r\nx-injected: 1', secretAccessKey: 's' })).toThrow(/access key id/);
    expect(make({ accessKeyId: 'AKID', secretAccessKey: 's', sessionToken: 'tok\nen' })).toThrow(/session token/);
    expect(make({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 's', sessionToken: 'FwoG+/==' })).not.toThrow();
  });
});
