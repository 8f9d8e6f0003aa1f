#!/usr/bin/env node
// The SDK's browser builds (esbuild, ES modules, minified, tree-shaken):
//   dist/browser/enclave-wallet.js             viem left as an import (a peer dependency): the package's `browser` export
//   dist/browser/enclave-wallet.standalone.js  viem bundled in: what the local stack serves at /demo/client.js
// Neither may contain a Node built-in: the build runs with platform 'browser' and fails on one.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const clientDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(clientDir, 'dist', 'browser');
mkdirSync(out, { recursive: true });
const common = {
  entryPoints: [join(clientDir, 'src', 'index.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  treeShaking: true,
  legalComments: 'none',
  logLevel: 'warning',
  // A failed attempt to resolve a Node built-in is an error, not a silent shim.
  external: [],
  // The API's Node transport (src/node-http.ts) has no use in a browser: its browser stand-in, which answers fetch.
  plugins: [
    {
      name: 'node-http-for-the-browser',
      setup(b) {
        b.onResolve({ filter: /^\.\/node-http\.js$/ }, () => ({ path: join(clientDir, 'src', 'node-http.browser.ts') }));
      },
    },
  ],
};
await build({ ...common, outfile: join(out, 'enclave-wallet.js'), external: ['viem', 'viem/*'] });
await build({ ...common, outfile: join(out, 'enclave-wallet.standalone.js') });
