/**
 * The demo page (local stack only: served only while the dev OIDC issuer is
 * configured). GET /demo (the page), /demo/app.js and /demo/style.css (its
 * script and style), /demo/app-with-frame and its script (an app that embeds the
 * wallet frame, on this origin, the frame on its own), /demo/client.js (the SDK's browser build, with viem), /demo/dev-root.der (the dev root
 * the page pins), /demo/config.json (where the dev issuer and the local chains
 * are). Everything the page does goes through the public API and the SDK.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Express, Response } from 'express';

export interface DemoOptions {
  /** The dev OIDC issuer the page asks for ID tokens. */
  issuerUrl: string;
  /** The dev CA's root certificate (DER) the page pins. */
  devRootPath: string;
  /** The local EVM node, when one runs. */
  chain?: { rpcUrl: string; chainId: number };
  /** The local Solana endpoint, when one runs (its cluster as the host's CHAINS names it). */
  solana?: { rpcUrl: string; cluster: string };
  /** The SDK's browser build (default: client/dist/browser/enclave-wallet.standalone.js of this checkout). */
  clientBundlePath?: string;
  /** The wallet frame's origin (FRAME_ORIGIN), for the page of an app that embeds it (/demo/app-with-frame). */
  frameOrigin?: string;
}

const pageDir = fileURLToPath(new URL('../../demo/', import.meta.url));
const defaultBundle = fileURLToPath(new URL('../../../client/dist/browser/enclave-wallet.standalone.js', import.meta.url));

export function mountDemo(app: Express, options: DemoOptions): void {
  const origin = (u: string): string => new URL(u).origin;
  const connect = [
    "'self'",
    origin(options.issuerUrl),
    ...(options.chain ? [origin(options.chain.rpcUrl)] : []),
    ...(options.solana ? [origin(options.solana.rpcUrl)] : []),
  ].join(' ');
  const csp = `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src ${connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'none'`;
  // The page of an app that embeds the wallet frame: it may show the frame's origin in an iframe, and keeps its
  // opener link to the frame's popup (helmet's Cross-Origin-Opener-Policy same-origin would cut it: popup mode).
  const frameCsp = csp.replace("frame-ancestors 'none'", `frame-src ${options.frameOrigin ?? "'none'"}; frame-ancestors 'none'`);
  const file = (res: Response, path: string, type: string, policy = csp): void => {
    if (!existsSync(path)) {
      res
        .status(404)
        .type('text/plain')
        .send(`not built: ${path.split('/').slice(-3).join('/')} (run npm run build)`);
      return;
    }
    res.setHeader('content-security-policy', policy);
    res.setHeader('cache-control', 'no-store');
    res.type(type).send(readFileSync(path));
  };
  app.get('/demo', (_req, res) => file(res, `${pageDir}index.html`, 'html'));
  app.get('/demo/app.js', (_req, res) => file(res, `${pageDir}app.js`, 'application/javascript'));
  app.get('/demo/style.css', (_req, res) => file(res, `${pageDir}style.css`, 'text/css'));
  app.get('/demo/app-with-frame', (_req, res) => {
    res.setHeader('cross-origin-opener-policy', 'same-origin-allow-popups');
    file(res, `${pageDir}app-with-frame.html`, 'html', frameCsp);
  });
  app.get('/demo/app-with-frame.js', (_req, res) => file(res, `${pageDir}app-with-frame.js`, 'application/javascript'));
  app.get('/demo/client.js', (_req, res) => file(res, options.clientBundlePath ?? defaultBundle, 'application/javascript'));
  app.get('/demo/dev-root.der', (_req, res) => file(res, options.devRootPath, 'application/pkix-cert'));
  app.get('/demo/config.json', (_req, res) => {
    res.setHeader('cache-control', 'no-store');
    res.json({ issuerUrl: options.issuerUrl, chain: options.chain ?? null, solana: options.solana ?? null, frameOrigin: options.frameOrigin ?? null });
  });
}
