#!/usr/bin/env node
// The floor of a signature's path at one client (docs/performance.md, twenty-sixth look): a request path of the
// stack's shape that does nothing but the stretch. An HTTP server (node:http, as under the host's Express) takes a
// JSON body, sends its `pinEnvelope` in a frame over TCP (as the host's RPC to the enclave, here on loopback) to a
// second process, which runs one Argon2id with the enclave's compiled-in cost on libuv's pool (the enclave's way) and
// answers; the HTTP server answers its 32 bytes as JSON. No authentication, no envelope, no guard, no signature:
// what is left is the processes, the hops between them and Node's HTTP, which the stack cannot do without.
// `npm run bench` runs it beside the stack (scripts/bench-floor.mjs): the part of the 1-client target's 3 ms that
// the path's shape takes on these cores.
//   node scripts/path-floor.mjs enclave PORT           (on the enclave's cores and Node)
//   node scripts/path-floor.mjs host PORT ENCLAVE_PORT (on the others)
// Each prints one line, `listening PORT`, once it listens. The Argon2id's password is the envelope's bytes, its salt
// their SHA-256's first 16 bytes (so an answer can be checked from outside: test/tools/path-floor.test.ts).
import { createHash } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer } from 'node:net';
import argon2 from 'argon2';

const { ARGON2_POLICY } = await import('../enclave/dist/sealing/kdf.js');

/** A frame: u32 length of the rest | u32 request id | payload. */
function frame(id, payload) {
  const out = Buffer.allocUnsafe(8 + payload.length);
  out.writeUInt32BE(4 + payload.length, 0);
  out.writeUInt32BE(id, 4);
  payload.copy(out, 8);
  return out;
}

/** Calls `onFrame(id, payload)` for each whole frame that arrives on `socket`. */
function readFrames(socket, onFrame) {
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 4) {
      const length = pending.readUInt32BE(0);
      if (length < 4 || length > 1 << 20) {
        socket.destroy(new Error(`a frame of ${length} bytes`));
        return;
      }
      if (pending.length < 4 + length) break;
      const id = pending.readUInt32BE(4);
      const payload = Buffer.from(pending.subarray(8, 4 + length));
      pending = pending.subarray(4 + length);
      onFrame(id, payload);
    }
  });
}

/** The Argon2id of the floor's path: `password` with the enclave's cost, salted with its own SHA-256's first 16 bytes. */
function stretch(password) {
  return argon2.hash(password, {
    type: argon2.argon2id,
    raw: true,
    salt: createHash('sha256').update(password).digest().subarray(0, 16),
    memoryCost: ARGON2_POLICY.memoryKiB,
    timeCost: ARGON2_POLICY.iterations,
    parallelism: ARGON2_POLICY.parallelism,
    hashLength: 32,
  });
}

function serveEnclave(port) {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => socket.destroy());
    readFrames(socket, (id, payload) => {
      stretch(payload).then(
        (hash) => socket.write(frame(id, hash)),
        () => socket.destroy(),
      );
    });
  });
  server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
}

function serveHost(port, enclavePort) {
  const enclave = connect(enclavePort, '127.0.0.1');
  enclave.setNoDelay(true);
  // Without its enclave side it can answer nothing: it ends, and its caller sees the connection refused at once.
  enclave.on('error', (err) => {
    console.error(`the floor's enclave side: ${err.message}`);
    process.exit(1);
  });
  enclave.on('close', () => {
    console.error("the floor's enclave side closed the connection");
    process.exit(1);
  });
  const waiting = new Map();
  let nextId = 0;
  readFrames(enclave, (id, payload) => {
    const answer = waiting.get(id);
    waiting.delete(id);
    answer?.(payload);
  });
  const server = createHttpServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let envelope;
      try {
        envelope = JSON.parse(Buffer.concat(chunks).toString('utf8')).pinEnvelope;
      } catch {
        envelope = undefined;
      }
      if (typeof envelope !== 'string' || !envelope) {
        res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"pinEnvelope: required"}');
        return;
      }
      nextId = (nextId % 0xffffffff) + 1;
      waiting.set(nextId, (hash) => {
        const body = JSON.stringify({ signature: `0x${hash.toString('hex')}` });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
      });
      enclave.write(frame(nextId, Buffer.from(envelope, 'utf8')));
    });
  });
  enclave.once('connect', () => server.listen(port, '127.0.0.1', () => console.log(`listening ${port}`)));
}

const [role, port, enclavePort] = process.argv.slice(2);
if (role === 'enclave' && Number(port) > 0) serveEnclave(Number(port));
else if (role === 'host' && Number(port) > 0 && Number(enclavePort) > 0) serveHost(Number(port), Number(enclavePort));
else {
  console.error('usage: node scripts/path-floor.mjs enclave PORT | host PORT ENCLAVE_PORT');
  process.exit(2);
}
