/**
 * The API's transport on Node: each request over `node:http` / `node:https` with kept-alive connections (shared by
 * every client of the process), instead of the global `fetch` (undici). Measured 2026-12-06 (docs/performance.md,
 * twenty-first look): in a loop of calls in a row, 0.15–0.22 ms less of the client's CPU a call on Node 20 (0.11–0.13
 * on Node 24); at one client signing through the local stack, where each call starts after 20 ms idle, the client's
 * and the wire's share of a signature 2.8 → 1.8 ms (medians of three alternated runs of 200 on Node 20).
 *
 * Used only where nothing asks for fetch: the runtime is Node itself (not a browser, an Electron renderer, Bun or
 * Deno), the app passed no `fetch`, `globalThis.fetch` is still Node's own (not a test's stub or a tracing wrapper),
 * undici's global dispatcher is its default Agent (not a ProxyAgent or another one an app set), and no proxy variable
 * is in the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY, NODE_USE_ENV_PROXY, in either case): otherwise the API is
 * sent with fetch, as before.
 * The app's chain nodes (`rpc`) are always read with `fetch`, whose whole interface viem uses.
 *
 * What it does not do that fetch would: follow redirects (the API answers none) and decode compressed bodies (it
 * asks for none: node:http sends no Accept-Encoding). TLS is Node's default: the system's and Node's CAs
 * (NODE_EXTRA_CA_CERTS), names checked.
 */

/** What the SDK reads of an answer: a subset of fetch's Response. */
export interface ApiResponse {
  readonly status: number;
  readonly ok: boolean;
  text(): Promise<string>;
}

/** One request: the subset of fetch's arguments the SDK passes. */
export type ApiTransport = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<ApiResponse>;

// node:http's types, as far as used here (the SDK compiles without Node's, for the browser).
interface IncomingMessage {
  statusCode?: number;
  setEncoding(encoding: 'utf8'): void;
  on(event: 'data', listener: (chunk: string) => void): void;
  on(event: 'end' | 'close', listener: () => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
}
interface ClientRequest {
  on(event: 'error', listener: (err: Error) => void): void;
  setTimeout(ms: number, listener: () => void): void;
  destroy(err?: Error): void;
  end(body?: Uint8Array): void;
}
interface HttpModule {
  Agent: new (options: { keepAlive: boolean; timeout: number }) => object;
  request(
    url: string,
    options: { method: string; headers: Record<string, string>; agent: object; signal?: AbortSignal },
    onResponse: (res: IncomingMessage) => void,
  ): ClientRequest;
}

/**
 * A kept-alive connection idle this long is closed by the client: under the 5 s after which Node's servers (the
 * host's among them) close one, so that a request is never written to a connection the server is closing.
 */
export const IDLE_CONNECTION_MS = 4_000;
/** A request whose connection stays silent this long fails (undici's default header and body timeouts). */
export const SILENT_ANSWER_MS = 300_000;

type NodeGlobal = {
  process?: { release?: { name?: string }; versions?: Record<string, string | undefined>; type?: string; env?: Record<string, string | undefined> };
  Deno?: unknown;
  Bun?: unknown;
  fetch?: unknown;
};

/** Whether this runtime is Node itself (not Bun or Deno, which also name themselves node, nor an Electron renderer). */
export function isNodeRuntime(): boolean {
  const g = globalThis as NodeGlobal;
  return (
    g.process?.release?.name === 'node' && g.process.versions?.bun === undefined && g.Deno === undefined && g.Bun === undefined && g.process.type !== 'renderer'
  );
}

const PROXY_VARIABLES = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'NODE_USE_ENV_PROXY'];
let checkedFetch: unknown;
let fetchIsNodes = false;

/** Whether the API may go through node:http here: Node, and nothing set up for fetch (above). */
export function nodeHttpApplies(): boolean {
  const g = globalThis as NodeGlobal;
  if (!isNodeRuntime()) return false;
  if (g.fetch !== checkedFetch) {
    checkedFetch = g.fetch;
    // Node's own fetch loads undici lazily; a stub, a wrapper or a bound function reads otherwise.
    fetchIsNodes = typeof g.fetch === 'function' && Function.prototype.toString.call(g.fetch).includes('internal/deps/undici/undici');
  }
  if (!fetchIsNodes) return false;
  // undici's default dispatcher is an Agent, set on first use of fetch; a proxy's is another class.
  const dispatcher = (globalThis as Record<symbol, { constructor?: { name?: string } } | undefined>)[Symbol.for('undici.globalDispatcher.1')];
  if (dispatcher !== undefined && dispatcher.constructor?.name !== 'Agent') return false;
  const env = g.process?.env ?? {};
  return !PROXY_VARIABLES.some((v) => env[v] || env[v.toLowerCase()]);
}

let shared: Promise<ApiTransport | undefined> | undefined;

/**
 * The transport for the API's requests when the app passed no fetch: the node:http one where it applies (made once
 * per process, its kept-alive connections shared by every client), else `fallback`, the global fetch.
 */
export async function apiTransport(fallback: ApiTransport): Promise<ApiTransport> {
  if (!nodeHttpApplies()) return fallback;
  shared ??= nodeTransport().catch(() => undefined);
  return (await shared) ?? fallback;
}

/** The Node transport. */
async function nodeTransport(): Promise<ApiTransport | undefined> {
  // Computed specifiers, so that bundlers for the browser neither resolve nor include Node's modules.
  const load = (name: string): Promise<HttpModule> => import(/* @vite-ignore */ ['node', name].join(':')) as Promise<HttpModule>;
  const [http, https] = await Promise.all([load('http'), load('https')]);
  const schemes = {
    'http:': { module: http, agent: new http.Agent({ keepAlive: true, timeout: IDLE_CONNECTION_MS }) },
    'https:': { module: https, agent: new https.Agent({ keepAlive: true, timeout: IDLE_CONNECTION_MS }) },
  };
  return (url, init) =>
    new Promise<ApiResponse>((resolve, reject) => {
      const scheme = url.startsWith('https:') ? schemes['https:'] : url.startsWith('http:') ? schemes['http:'] : undefined;
      if (!scheme) {
        reject(new TypeError('the API URL is not http(s)'));
        return;
      }
      const body = init.body === undefined ? undefined : new TextEncoder().encode(init.body);
      const headers = body ? { ...init.headers, 'content-length': String(body.length) } : init.headers;
      // The caller's deadline (session.ts): aborting destroys the request, its answer's body included.
      const req = scheme.module.request(url, { method: init.method, headers, agent: scheme.agent, ...(init.signal ? { signal: init.signal } : {}) }, (res) => {
        const status = res.statusCode ?? 0;
        let text = '';
        let ended = false;
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => {
          ended = true;
          // As fetch's text(): UTF-8, a leading byte order mark dropped.
          const answer = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
          resolve({ status, ok: status >= 200 && status < 300, text: () => Promise.resolve(answer) });
        });
        res.on('error', reject);
        res.on('close', () => {
          if (!ended) reject(new Error('the connection closed before the answer was complete'));
        });
      });
      req.on('error', reject);
      req.setTimeout(SILENT_ANSWER_MS, () => req.destroy(new Error(`no answer for ${SILENT_ANSWER_MS / 1000} s`)));
      req.end(body);
    });
}
