#!/usr/bin/env node
// The wallet frame's static files (docs/frame.md), built reproducibly: the same sources give the same bytes
// (esbuild, minified, no source map, no file paths or build times in the output). Writes to frame/dist/site
// (or --out <dir>):
//   index.html  the page, pinning frame.js and frame.css by Subresource Integrity (sha384)
//   frame.js    the page's script (the SDK's frame side, viem and the PIN pad), bundled for browsers
//   frame.css   its style
// and prints each file's SHA-256, the hashes an operator compares with what the CDN serves. What the frame
// needs at run time (the API, APP_ORIGINS, the attestation root, the chain nodes) is config.json beside these
// files, written by whoever serves them (devtools' frame server locally, the deployment in production).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const frameDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const outFlag = process.argv.indexOf('--out');
const out = outFlag > 0 ? resolve(process.argv[outFlag + 1]) : join(frameDir, 'dist', 'site');
const quiet = process.argv.includes('--quiet');
mkdirSync(out, { recursive: true });

const result = await build({
  entryPoints: [join(frameDir, 'src', 'main.ts')],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  treeShaking: true,
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'warning',
  write: false,
  outfile: join(out, 'frame.js'),
});
const js = result.outputFiles[0].contents;
const css = readFileSync(join(frameDir, 'style.css'));
const sri = (bytes) => `sha384-${createHash('sha384').update(bytes).digest('base64')}`;
const html = Buffer.from(readFileSync(join(frameDir, 'index.html'), 'utf8').replace('%JS_INTEGRITY%', sri(js)).replace('%CSS_INTEGRITY%', sri(css)), 'utf8');
const files = { 'index.html': html, 'frame.js': js, 'frame.css': css };
for (const [name, bytes] of Object.entries(files)) writeFileSync(join(out, name), bytes);
if (!quiet) {
  console.log(`wallet frame built in ${out}`);
  for (const [name, bytes] of Object.entries(files))
    console.log(`  sha256 ${createHash('sha256').update(bytes).digest('hex')}  ${name} (${bytes.length} bytes)`);
}
