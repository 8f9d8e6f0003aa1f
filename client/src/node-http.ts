/**
 * The API's transport on Node: each request over `node:http` / `node:https` with kept-alive connections, instead of
 * the global `fetch` (undici), which costs about 0.7 ms more of the client's CPU a request on Node 20 and 0.5 on Node
 * 24 (a POST of a signature's size to the local host, 2026-12-06; docs/performance.md, twenty-first look): serial
 * time in every call an app on a server makes. Used only where the runtime is Node itself (not a browser, Bun or
 * Deno, whose own fetch is theirs) and the app passed no `fetch`; the app's chain nodes (`rpc`) are still read with
 * `fetch`, whose whole interface viem uses.
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
export type ApiTransport = (url: string, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<ApiResponse>;

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
  request(url: string, options: { method: string; headers: Record<string, string>; agent: object }, onResponse: (res: IncomingMessage) => void): ClientRequest;
}

/**
 * A kept-alive connection idle this long is closed by the client: under the 5 s after which Node's servers (the
 * host's among them) close one, so that a request is never written to a connection the server is closing.
 */
export const IDLE_CONNECTION_MS = 4_000;
/** A request whose connection stays silent this long fails (undici's default header and body timeouts). */
export const SILENT_ANSWER_MS = 300_000;

/** Whether this runtime is Node itself. */
export function isNodeRuntime(): boolean {
  const g = globalThis as { process?: { release?: { name?: string }; versions?: Record<string, string | undefined> }; Deno?: unknown; Bun?: unknown };
  return g.process?.release?.name === 'node' && g.process.versions?.bun === undefined && g.Deno === undefined && g.Bun === undefined;
}

/** The Node transport, or undefined where the runtime is not Node. */
export async function nodeTransport(): Promise<ApiTransport | undefined> {
  if (!isNodeRuntime()) return undefined;
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
      const req = scheme.module.request(url, { method: init.method, headers, agent: scheme.agent }, (res) => {
        const status = res.statusCode ?? 0;
        let text = '';
        let ended = false;
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => {
          ended = true;
          resolve({ status, ok: status >= 200 && status < 300, text: () => Promise.resolve(text) });
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
