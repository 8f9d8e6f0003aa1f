/**
 * The local stack's wallet frame server (docs/frame.md): a small static server on an origin of its own
 * (`http://localhost:8081`), so that the split between the app, the frame and the host is real locally too.
 * It serves the built frame (frame/dist/site: index.html, frame.js, frame.css) and what a deployment puts
 * beside it, config.json (the API, APP_ORIGINS, the attestation root, the chain nodes) and, locally, the dev
 * root the frame pins. The page's Content-Security-Policy names APP_ORIGINS in `frame-ancestors`: a page of
 * any other origin cannot embed the frame. In production a static bucket behind a CDN does this job, with the
 * same headers; never the host process.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface FrameServerOptions {
  /** The built frame (frame/dist/site). */
  siteDir: string;
  /** APP_ORIGINS: who may embed the frame and talk to it. */
  appOrigins: string[];
  /** The host API the frame calls (its origin goes into connect-src). */
  apiUrl: string;
  /** The dev root the frame pins (served as /dev-root.der); without it config.json says `aws`. */
  devRootPath?: string;
  /** PCRs the frame pins (production: PCR0 at least). */
  expectedPcrs?: Record<string, string>;
  evm?: { chainId: number; rpcUrl: string };
  solana?: { cluster: string; rpcUrl: string };
}

const TYPES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'frame.js': 'text/javascript; charset=utf-8',
  'frame.css': 'text/css; charset=utf-8',
  'config.json': 'application/json',
  'dev-root.der': 'application/pkix-cert',
};

/** The page's policy: its own scripts and styles only, calls to the API and the chain nodes only, embedded by APP_ORIGINS only. */
export function frameContentSecurityPolicy(options: Pick<FrameServerOptions, 'appOrigins' | 'apiUrl' | 'evm' | 'solana'>): string {
  const connect = [options.apiUrl, options.evm?.rpcUrl, options.solana?.rpcUrl].filter((u): u is string => Boolean(u)).map((u) => new URL(u).origin);
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src 'self' ${[...new Set(connect)].join(' ')}`,
    `frame-ancestors ${options.appOrigins.length ? options.appOrigins.join(' ') : "'none'"}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

export class FrameServer {
  private server: Server | undefined;
  constructor(private readonly options: FrameServerOptions) {}

  /** config.json: what the frame reads at start. */
  config(): Record<string, unknown> {
    const o = this.options;
    return {
      apiUrl: o.apiUrl,
      appOrigins: o.appOrigins,
      root: o.devRootPath ? 'dev-root.der' : 'aws',
      ...(o.expectedPcrs ? { expectedPcrs: o.expectedPcrs } : {}),
      ...(o.evm ? { evm: o.evm } : {}),
      ...(o.solana ? { solana: o.solana } : {}),
    };
  }

  listen(port: number, host = '127.0.0.1'): Promise<{ url: string; server: Server }> {
    const csp = frameContentSecurityPolicy(this.options);
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://frame').pathname;
      const name = path === '/' ? 'index.html' : path.slice(1);
      const type = TYPES[name];
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('referrer-policy', 'no-referrer');
      res.setHeader('cache-control', 'no-cache');
      if ((req.method !== 'GET' && req.method !== 'HEAD') || !type || (name === 'dev-root.der' && !this.options.devRootPath)) {
        res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 404 : 405, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      let body: Buffer;
      try {
        body =
          name === 'config.json'
            ? Buffer.from(JSON.stringify(this.config()))
            : readFileSync(name === 'dev-root.der' ? this.options.devRootPath! : join(this.options.siteDir, name));
      } catch {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not built: run npm run build\n');
        return;
      }
      if (name === 'index.html') res.setHeader('content-security-policy', csp);
      res.writeHead(200, { 'content-type': type, 'content-length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        const { port: p } = server.address() as AddressInfo;
        resolve({ url: `http://localhost:${p}`, server });
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
