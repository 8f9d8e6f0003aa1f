/**
 * The wallet frame's static files (docs/frame.md): the build is reproducible (two builds, the same bytes, the
 * hashes it prints are the files'), the page pins its script and style by Subresource Integrity, and the local
 * frame server sends the headers a CDN must send in production (CSP frame-ancestors = APP_ORIGINS, connect-src
 * = the API and the chain nodes), config.json, and nothing else.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FrameServer, frameContentSecurityPolicy } from '../../devtools/src/frame/server.js';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const FILES = ['index.html', 'frame.js', 'frame.css'];
const build = (out: string): string => execFileSync(process.execPath, [join(repo, 'frame/scripts/build.mjs'), '--out', out], { encoding: 'utf8' });

let first: string;
let printed: string;
beforeAll(() => {
  first = mkdtempSync(join(tmpdir(), 'frame-a-'));
  printed = build(first);
}, 60_000);

test('two builds give the same bytes, and the build prints each file’s SHA-256', () => {
  const second = mkdtempSync(join(tmpdir(), 'frame-b-'));
  build(second);
  for (const f of FILES) {
    const a = readFileSync(join(first, f));
    expect(readFileSync(join(second, f)).equals(a)).toBe(true);
    expect(printed).toContain(`sha256 ${createHash('sha256').update(a).digest('hex')}  ${f}`);
  }
}, 60_000);

test('the page loads only its own script and style, pinned by sha384 integrity, and nothing inline', () => {
  const html = readFileSync(join(first, 'index.html'), 'utf8');
  const sri = (f: string): string =>
    `sha384-${createHash('sha384')
      .update(readFileSync(join(first, f)))
      .digest('base64')}`;
  expect(html).toContain(`<script type="module" src="frame.js" integrity="${sri('frame.js')}"></script>`);
  expect(html).toContain(`<link rel="stylesheet" href="frame.css" integrity="${sri('frame.css')}">`);
  expect(html.match(/<script/g)).toHaveLength(1);
  expect(html).not.toMatch(/\sstyle=|\son[a-z]+=/);
});

describe('the local frame server', () => {
  const options = {
    siteDir: '',
    appOrigins: ['http://127.0.0.1:3000', 'https://app.example.com'],
    apiUrl: 'http://127.0.0.1:8080',
    evm: { chainId: 31337, rpcUrl: 'http://127.0.0.1:8545/' },
  };
  let server: FrameServer;
  let url: string;
  beforeAll(async () => {
    server = new FrameServer({ ...options, siteDir: first });
    url = (await server.listen(0)).url.replace('localhost', '127.0.0.1');
  });
  afterAll(() => server?.close());

  test('the page: CSP with frame-ancestors = APP_ORIGINS and connect-src = the API and the nodes; no X-Frame-Options', async () => {
    const res = await fetch(`${url}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(readFileSync(join(first, 'index.html'), 'utf8'));
    const csp = res.headers.get('content-security-policy');
    expect(csp).toBe(frameContentSecurityPolicy(options));
    expect(csp).toContain('frame-ancestors http://127.0.0.1:3000 https://app.example.com');
    expect(csp).toContain("connect-src 'self' http://127.0.0.1:8080 http://127.0.0.1:8545");
    expect(csp).toContain("default-src 'none'");
    expect(res.headers.get('x-frame-options')).toBeNull();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(frameContentSecurityPolicy({ ...options, appOrigins: [] })).toContain("frame-ancestors 'none'");
  });

  test('config.json says what the frame trusts; the script and style are served as built; nothing else', async () => {
    expect(await (await fetch(`${url}/config.json`)).json()).toEqual({
      apiUrl: options.apiUrl,
      appOrigins: options.appOrigins,
      root: 'aws',
      evm: options.evm,
    });
    const js = await fetch(`${url}/frame.js`);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(Buffer.from(await js.arrayBuffer()).equals(readFileSync(join(first, 'frame.js')))).toBe(true);
    for (const path of ['/dev-root.der', '/../package.json', '/%2e%2e/package.json', '/frame.js.map', '/index.htm'])
      expect((await fetch(`${url}${path}`)).status).toBe(404);
    expect((await fetch(`${url}/`, { method: 'POST' })).status).toBe(405);
  });
});
