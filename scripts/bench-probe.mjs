#!/usr/bin/env node
// Used by scripts/bench.mjs, in processes of their own:
//   bench-probe.mjs <intervalMs> <url>…  probes each <url>/healthz (one plain GET each on a kept-alive connection),
//                                        first WARM_ROUNDS rounds back to back, then prints "ready" on a line of its
//                                        own, then one round every intervalMs until a line arrives on stdin, then
//                                        prints the latencies (ms) of those rounds by URL as JSON on its last line.
//                                        Its own process, so the load generator's event loop adds nothing to what is
//                                        measured. A probe unanswered for PROBE_TIMEOUT_MS ends it with an error.
//   bench-probe.mjs --serve <port>       a bare node:http server answering {"status":"ok"}: the floor a
//                                        /healthz can reach on these cores at that moment, probed the same way.
//
// Fair to every URL (docs/performance.md, nineteenth look): pauses of the other cores (this process's own among
// them: V8 compiling its code after so many calls, its garbage collection) come at the same round in every run, and
// until 2026-12-06 they always fell on the first URL of a round, the host's /healthz. Now each round's order is drawn
// at random, and the warm-up rounds, before anything is measured, let V8 compile this code (and the servers' /healthz
// paths, as a load balancer's health checks keep a running service's warm) and open the connections.
import { Agent, createServer, get } from 'node:http';
import { performance } from 'node:perf_hooks';

/** Rounds before the measured ones: past the last pause seen from V8 tiering this process's code (about round 680). */
const WARM_ROUNDS = 1000;
/** A /healthz unanswered for this long ends the probe (and the benchmark's run) with an error, not a hang. */
const PROBE_TIMEOUT_MS = 30_000;

if (process.argv[2] === '--serve') {
  createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"status":"ok"}');
  }).listen(Number(process.argv[3]), '127.0.0.1');
} else {
  const [intervalMs, ...urls] = process.argv.slice(2);
  const agents = urls.map(() => new Agent({ keepAlive: true, maxSockets: 1 }));
  const latencies = Object.fromEntries(urls.map((u) => [u, []]));
  let running = true;
  process.stdin.once('data', () => (running = false));
  const probe = (url, agent) =>
    new Promise((resolve, reject) => {
      const t = performance.now();
      const req = get(`${url}/healthz`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(performance.now() - t));
      }).on('error', reject);
      req.setTimeout(PROBE_TIMEOUT_MS, () => req.destroy(new Error(`${url}/healthz unanswered for ${PROBE_TIMEOUT_MS / 1000} s`)));
    });
  /** A round asks every URL once, in an order drawn at random (Fisher–Yates). */
  const round = async (record) => {
    const order = urls.map((_, i) => i);
    for (let j = order.length - 1; j > 0; j--) {
      const r = Math.floor(Math.random() * (j + 1));
      [order[j], order[r]] = [order[r], order[j]];
    }
    for (const i of order) {
      const ms = await probe(urls[i], agents[i]);
      if (record) latencies[urls[i]].push(ms);
    }
  };
  for (let k = 0; k < WARM_ROUNDS; k++) await round(false);
  process.stdout.write('ready\n');
  while (running) {
    await round(true);
    await new Promise((r) => setTimeout(r, Number(intervalMs)));
  }
  for (const a of agents) a.destroy();
  process.stdout.write(`${JSON.stringify(latencies)}\n`);
  process.exit(0);
}
