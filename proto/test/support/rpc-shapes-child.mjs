// Run by rpc-shapes.test.ts with --allow-natives-syntax: serves one request of every operation (and refusals) through
// serveConnection over an in-memory pair of streams, catches each answer object on its way to the encoder, and prints
// whether V8 gave them all one map. Uses the build (proto/dist), as the enclave does.
import { Duplex } from 'node:stream';
const proto = await import(new URL('../../dist/index.js', import.meta.url).href);
const { v1, OPERATIONS, PROTOCOL_VERSION, serveConnection, encodeFrame, FrameDecoder, EnclaveWalletError } = proto;

const answers = [];
const encode = v1.EnclaveResponse.encode;
v1.EnclaveResponse.encode = function (message, ...rest) {
  answers.push(message);
  return encode.call(this, message, ...rest);
};

const make = () =>
  new Duplex({
    read() {},
    write(chunk, _enc, cb) {
      this.peer.push(Buffer.from(chunk));
      cb();
    },
  });
const [a, b] = [make(), make()];
a.peer = b;
b.peer = a;

// Every operation answers {} or, every other request, an EnclaveWalletError; one operation has no handler.
let n = 0;
const handlers = Object.fromEntries(
  OPERATIONS.filter((op) => op !== 'removePasskey').map((op) => [
    op,
    async () => {
      if (n++ % 2) throw new EnclaveWalletError('PIN_INVALID', 'wrong PIN', { attemptsLeft: 3 });
      return {};
    },
  ]),
);
serveConnection(b, handlers);
const got = [];
const decoder = new FrameDecoder();
a.on('data', (chunk) => got.push(...decoder.push(chunk)));
let id = 0;
const send = (fields) => a.write(encodeFrame(v1.HostRequest.encode({ requestId: ++id, protocolVersion: PROTOCOL_VERSION, ...fields }).finish()));
for (const op of OPERATIONS) for (let i = 0; i < 2; i++) send({ [op]: {}, ...(i ? { traceId: 't' } : {}) });
send({ protocolVersion: PROTOCOL_VERSION + 1, sign: {} }); // refused: another version
send({}); // refused: no operation
// Every request is answered (or, after 10 s, what came is reported).
for (const deadline = Date.now() + 10_000; got.length < id && Date.now() < deadline;) await new Promise((resolve) => setTimeout(resolve, 5));
// V8's own test of two objects' maps (only with --allow-natives-syntax; written in a Function so that the file parses without it).
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)');
const same = answers.every((x) => haveSameMap(x, answers[0]));
const fields = Object.keys(v1.EnclaveResponse.prototype).filter((k) => typeof v1.EnclaveResponse.prototype[k] !== 'function');
console.log(JSON.stringify({ answers: answers.length, frames: got.length, sameMap: same, keys: Object.keys(answers[0]), schemaFields: fields }));
