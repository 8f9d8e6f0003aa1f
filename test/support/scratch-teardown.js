/** Jest's globalTeardown: removes the run's scratch folder (scratch-setup.js), or keeps it with KEEP_TEST_TMP=1. */
import { rmSync } from 'node:fs';

export default function scratchTeardown() {
  const scratch = globalThis.enclaveWalletScratch;
  if (!scratch) return;
  if (scratch.before === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = scratch.before;
  if (process.env.KEEP_TEST_TMP === '1') {
    console.log(`\nKEEP_TEST_TMP=1: this run's temporary folders are in ${scratch.dir}`);
    return;
  }
  rmSync(scratch.dir, { recursive: true, force: true, maxRetries: 3 });
}
