/**
 * Jest's globalSetup: one scratch folder for the whole run. Every temporary folder a test makes (`os.tmpdir()`), and
 * every one a process it starts makes (the enclave, the launcher, Chromium, npm), goes under it: TMPDIR names it, and
 * the workers and children inherit it. scratch-teardown.js removes it when the run ends, so `npm test` leaves nothing
 * in the system's temporary folder (each run used to leave about a hundred folders there, some of 14 MB).
 * KEEP_TEST_TMP=1 keeps it, and prints where, to read a failed test's logs.
 *
 * It also installs the image's Node (scripts/image-node.mjs; linux-x64), which the launcher runs the enclave and the
 * host on by default: once, here, before any test starts a stack, so that no stack's start-up deadline includes the
 * download (about 190 MB unpacked, a few seconds).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default async function scratchSetup() {
  const { imageNode, imageNodeAvailable } = await import('../../scripts/image-node.mjs');
  try {
    if (imageNodeAvailable) imageNode();
  } catch (err) {
    // The launcher then runs both sides on this Node (and says so); the tests that need the image's Node fail.
    console.warn(`\nthe image's Node could not be installed before the tests: ${err instanceof Error ? err.message : err}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'enclave-wallet-test-'));
  globalThis.enclaveWalletScratch = { dir, before: process.env.TMPDIR };
  process.env.TMPDIR = dir;
}
