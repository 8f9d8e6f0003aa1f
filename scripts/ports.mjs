/**
 * Ports for the processes a test or a script starts and then tells where to listen.
 *
 * Asking the kernel for port 0 and closing the socket again is racy twice over: the kernel may hand the same
 * number out again (one suite's issuer and KMS were given the same port), and any socket bound to port 0 in the
 * meantime, by any process, may take it. So a port here comes from below the kernel's ephemeral range (where no
 * port-0 bind lands), from a block of this Jest worker's own (so parallel workers never meet), is never handed out
 * twice by one process, and is free when we check it (something else on the machine may already hold it).
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

/** Resolves with the port if nothing listens on it, with null if it is taken. */
function tryListen(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(null));
    s.listen(port, '127.0.0.1', () => {
      const bound = s.address().port;
      s.close(() => resolve(bound));
    });
  });
}

/** The first free port of this worker's block, from a random start; or the kernel's choice if no block fits. */
export async function freePort() {
  const worker = Number(process.env.JEST_WORKER_ID ?? 0) || 0;
  const top = ephemeralLow() - worker * BLOCK;
  const bottom = top - BLOCK;
  if (bottom >= 10000) {
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
  for (;;) {
    const port = await tryListen(0);
    if (port !== null && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
