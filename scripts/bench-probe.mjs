#!/usr/bin/env node
// Used by scripts/bench.mjs, in processes of their own:
//   bench-probe.mjs <intervalMs> <url>…  probes each <url>/healthz every intervalMs, one after the other (one
//                                        plain GET each on a kept-alive connection), until a line arrives on
//                                        stdin, then prints the latencies (ms) by URL as JSON. Its own process,
//                                        so the load generator's event loop adds nothing to what is measured.
//   bench-probe.mjs --serve <port>       a bare node:http server answering {"status":"ok"}: the floor a
//                                        /healthz can reach on these cores at that moment, probed the same way.
import { Agent, createServer, get } from 'node:http';
import { performance } from 'node:perf_hooks';

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
      get(`${url}/healthz`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(performance.now() - t));
      }).on('error', reject);
    });
  while (running) {
    for (let i = 0; i < urls.length; i++) latencies[urls[i]].push(await probe(urls[i], agents[i]));
    await new Promise((r) => setTimeout(r, Number(intervalMs)));
  }
  for (const a of agents) a.destroy();
  process.stdout.write(JSON.stringify(latencies));
  process.exit(0);
}
