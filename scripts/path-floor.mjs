#!/usr/bin/env node
// The floor of a signature's path at one client (docs/performance.md, twenty-sixth look): a request path of the
// stack's shape that does nothing but the stretch. An HTTP server (node:http, as under the host's Express) takes a
// JSON body, sends its `pinEnvelope` in a frame over TCP (the stack's framing, as the host's RPC to the enclave, here
// on loopback) to a second process, which runs one Argon2id with the enclave's compiled-in cost on libuv's pool (the
// enclave's way) and answers; the HTTP server answers its 32 bytes as JSON. No authentication, no envelope, no guard, no signature:
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
import { encodeFrame, FrameDecoder, MAX_FRAME_BYTES } from '@enclave-wallet/proto';

const { ARGON2_POLICY } = await import('../enclave/dist/sealing/kdf.js');

/** A frame of the stack's framing (proto/src/framing.ts) whose payload is u32 request id | bytes. */
function frame(id, payload) {
  const body = Buffer.allocUnsafe(4 + payload.length);
  body.writeUInt32BE(id, 0);
  payload.copy(body, 4);
  return encodeFrame(body);
}

/** Calls `onFrame(id, payload)` for each whole frame that arrives on `socket`; a framing error ends the socket. */
function readFrames(socket, onFrame) {
  const decoder = new FrameDecoder(MAX_FRAME_BYTES);
  socket.on('data', (chunk) => {
    let frames;
    try {
      frames = decoder.push(chunk);
    } catch (err) {
      socket.destroy(err);
      return;
    }
    for (const f of frames) onFrame(f.readUInt32BE(0), Buffer.from(f.subarray(4)));
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
