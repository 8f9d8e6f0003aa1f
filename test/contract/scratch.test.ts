// The run's temporary folder (test/support/scratch-setup.js): the tests and the processes they start write under
// it, and the run removes it at its end, so `npm test` leaves nothing behind in the system's temporary folder.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';

test('every temporary folder of the run, and of its child processes, is under the run’s own folder', () => {
  const scratch = process.env.TMPDIR!;
  expect(basename(scratch)).toMatch(/^enclave-wallet-test-/);
  expect(existsSync(scratch)).toBe(true);
  expect(tmpdir()).toBe(scratch);
  const made = mkdtempSync(join(tmpdir(), 'scratch-'));
  expect(dirname(made)).toBe(scratch);
  rmSync(made, { recursive: true });
  const child = spawnSync(process.execPath, ['-p', 'require("node:os").tmpdir()'], { encoding: 'utf8' });
  expect(child.stdout.trim()).toBe(scratch);
});
