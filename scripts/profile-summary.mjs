#!/usr/bin/env node
// Where a V8 CPU profile's time goes (the main thread: JavaScript, GC and the native code JavaScript calls), in
// the enclave's terms: each sample goes to the first part of PARTS (in that order) that any frame of its stack
// belongs to (so the native point multiplication the signature's self-check calls in keys/derive counts as the
// signature's, and everything under the RPC server's handler counts as the part it ran, not as RPC); samples with
// none go to the Node.js module nearest their leaf (HTTP parsing, sockets, timers) or to V8 ((garbage collector),
// (program)).
// Used by `npm run bench -- --profile` on the 32-client window; alone:
//   node scripts/profile-summary.mjs <file.cpuprofile> [fromMicros toMicros]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** By priority: a sample goes to the first part any frame of its stack belongs to. */
export const PARTS = [
  ['guard: DynamoDB calls (SigV4, JSON, HTTP request)', /enclave\/dist\/guard\/dynamodb|@smithy\/|@aws-crypto\//],
  ['guard: counting and clearing', /enclave\/dist\/(guard\/|sealing\/guesses)/],
  ['PIN envelope (HPKE) and its checks', /enclave\/dist\/envelope\//],
  ['signature and its self-check', /enclave\/dist\/signing\//],
  ['seed and key derivation', /enclave\/dist\/keys\/|@scure\/bip/],
  ['data key (KMS, cache)', /enclave\/dist\/kms\//],
  ['Argon2id call (JS side)', /node_modules\/argon2\/|enclave\/dist\/sealing\/kdf/],
  ['sealing (blob, AEAD, slots)', /enclave\/dist\/sealing\//],
  ['noble curves and hashes, elsewhere', /@noble\//],
  ['RPC framing and protobuf', /proto\/dist\/|protobufjs|@protobufjs/],
  ['service and server', /enclave\/dist\//],
];

export function summarize(profile, from = -Infinity, to = Infinity) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const cache = new Map();
  const partOf = (id) => {
    if (cache.has(id)) return cache.get(id);
    let part;
    const leaf = byId.get(id).callFrame;
    if (leaf.functionName === '(garbage collector)') part = 'GC (main thread)';
    else if (leaf.functionName === '(idle)') part = '(idle)';
    else if (leaf.functionName === '(program)') part = '(program: V8 and libuv outside JavaScript)';
    else {
      let best = PARTS.length;
      for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
        const url = byId.get(cur).callFrame.url;
        if (url) {
          const i = PARTS.findIndex(([, re]) => re.test(url));
          if (i >= 0 && i < best) best = i;
        }
      }
      part = PARTS[best]?.[0];
      if (!part) {
        let cur = id;
        while (cur !== undefined && !byId.get(cur).callFrame.url.startsWith('node:')) cur = parent.get(cur);
        const url = cur === undefined ? '' : byId.get(cur).callFrame.url;
        part = url ? `Node.js ${url.replace(/^node:(internal\/)?/, '').replace(/^deps\/.*$/, 'deps')}` : 'other';
      }
    }
    cache.set(id, part);
    return part;
  };
  const micros = {};
  let t = profile.startTime;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (t < from || t > to) return;
    const part = partOf(id);
    micros[part] = (micros[part] ?? 0) + dt;
  });
  return micros;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, from, to] = process.argv.slice(2);
  const micros = summarize(JSON.parse(readFileSync(file, 'utf8')), from ? Number(from) : -Infinity, to ? Number(to) : Infinity);
  for (const [part, us] of Object.entries(micros).sort((a, b) => b[1] - a[1])) console.log(`${(us / 1000).toFixed(1).padStart(10)} ms  ${part}`);
}
