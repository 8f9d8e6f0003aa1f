/**
 * The benchmark's HTTP client on the measured paths (scripts/bench.mjs: the signatures, the idle /healthz and
 * /readyz; scripts/bench-passkeys.mjs: the passkey signatures): node:http on kept-alive connections. It is not the
 * system under test, and it shares the host's core: fetch (undici) took 0.3 ms more per round trip and 0.5 ms more
 * CPU per request than this on the development machine (docs/performance.md, twelfth look), time the 1-client
 * latency counted as the service's and CPU taken from the host's core.
 */
import { Agent, request as httpRequest } from 'node:http';

// `timeout`: idle kept-alive sockets close after 4 s, before the host's 5-s keep-alive ends (with no agent timeout,
// Node's agent ignores the server's Keep-Alive hint and may reuse a socket the host is closing).
const keptAlive = new Agent({ keepAlive: true, timeout: 4000 });
/** A request with no answer after this long fails (a wedged host ends the run with an error, not a hang). */
const REQUEST_TIMEOUT_MS = 120_000;

/** One request; answers { status, body } (a Buffer) once the whole body has arrived. */
export function http(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method, agent: keptAlive, headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer from ${url} in ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.end(body);
  });
}
