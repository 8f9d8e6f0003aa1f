/**
 * The objects the enclave's request path reads have one shape (V8's map) whatever the request: PIN envelopes of every
 * purpose, factor and key order, sealed blobs of versions 1 to 4, and their slots. An object of a shape first met after V8
 * had optimised that path made it compile the path again, on the enclave's core (docs/performance.md, twenty-fourth
 * look). Checked in a child process with V8's natives syntax (`%HaveSameMap`), on the build (`npm test` builds first,
 * as for the other tests that run the build).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./support/shapes-child.mjs', import.meta.url));

test('envelopes of every purpose, factor and key order, blobs of versions 1 to 4, and their slots: one V8 map each, in fast mode', () => {
  const out = JSON.parse(execFileSync(process.execPath, ['--allow-natives-syntax', CHILD], { encoding: 'utf8' })) as Record<string, unknown>;
  expect(out).toEqual({
    envelopes: 14,
    envelopeKinds: [
      'sign/evm-message',
      'sign/evm-transaction',
      'sign/solana-transaction',
      'create-wallet',
      'derive-account',
      'change-pin',
      'reset-pin',
      'export',
      'sign/evm-message',
      'import',
      'import',
      'add-passkey',
      'remove-passkey',
      'reset-pin',
    ],
    envelopeMaps: true,
    blobs: [1, 2, 3, 4, 4],
    blobMaps: true,
    slots: [1, 2, 3, 1],
    slotMaps: true,
  });
});
