/**
 * Ports for the processes a test or a script starts and then tells where to listen.
 *
 * Asking the kernel for port 0 and closing the socket again is racy twice over: the kernel may hand the same
 * number out again (one suite's issuer and KMS were given the same port), and any socket bound to port 0 in the
 * meantime, by any process, may take it. So a port here comes from below the kernel's ephemeral range (where no
 * port-0 bind lands), from a block of this Jest worker's own (so parallel workers never meet), is never handed out
 * twice by one process, and is free when we check it (something else on the machine may already hold it). Not
 * covered: two test runs at once on one machine draw from the same blocks (each still checks before it hands out).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const BLOCK = 1000;
const handedOut = new Set();

function ephemeralLow() {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : 32768;
  } catch {
    return 32768; // not Linux: its usual lower bound is no worse a guess than any other
  }
}

/** Resolves with the port if nothing listens on it, with null if it is taken; rejects on any other error (out of descriptors, no loopback). */
function tryListen(port) {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', (err) => (err.code === 'EADDRINUSE' || err.code === 'EACCES' ? resolve(null) : reject(err)));
    s.listen(port, '127.0.0.1', () => {
      const bound = s.address().port;
      s.close(() => resolve(bound));
    });
  });
}

/**
 * The first free port of this worker's block, from a random start. The blocks lie below both the kernel's ephemeral
 * range and 30000 (Kubernetes' NodePorts, 30000–32767, may be redirected on a runner that shares a node's network),
 * down to 10000; a worker past the last block wraps around (two workers then share a block, each still checking).
 * With no room for a block (an ephemeral range starting very low), the kernel's choice, never twice in one process.
 */
const TOP = Math.min(ephemeralLow(), 30000);
const BLOCKS = Math.floor((TOP - 10000) / BLOCK);

export async function freePort() {
  if (BLOCKS > 0) {
    const worker = Number(process.env.JEST_WORKER_ID ?? 0) || 0;
    const bottom = TOP - ((((worker % BLOCKS) + BLOCKS) % BLOCKS) + 1) * BLOCK;
    const start = Math.floor(Math.random() * BLOCK);
    for (let i = 0; i < BLOCK; i++) {
      const port = bottom + ((start + i) % BLOCK);
      if (handedOut.has(port)) continue;
      if ((await tryListen(port)) !== null) {
        handedOut.add(port);
        return port;
      }
    }
  }
  for (let tries = 0; tries < 100; tries++) {
    const port = await tryListen(0);
    if (port !== null && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free port found');
}
