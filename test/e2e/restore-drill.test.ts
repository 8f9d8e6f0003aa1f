/**
 * The restore drill of docs/operations.md (`npm run drill:restore`, here `node scripts/restore-drill.mjs`: the
 * suite is built) on a temporary data folder and free ports: both tables backed up together, the wallet record
 * deleted, both restored (the wallet signs again), and the guard table restored alone refused or harmful. The
 * script checks each outcome itself; this test runs it and reads its report. Needs the build.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../', import.meta.url));

test('npm run drill:restore: both tables restored together bring the wallet back; the guard table alone is refused or harmful', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ew-drill-'));
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) =>
        ![
          'HOST_PORT',
          'ENCLAVE_PORT',
          'LOCAL_KMS_PORT',
          'DYNAMODB_PORT',
          'DEV_ISSUER_PORT',
          'ENCLAVE_LISTEN',
          'ENCLAVE_ADDRESS',
          'npm_lifecycle_event',
        ].includes(k) && !k.startsWith('JEST'),
    ),
  );
  const proc = spawn(process.execPath, [join(repo, 'scripts/restore-drill.mjs')], {
    cwd: repo,
    env: { ...env, DATA_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
  try {
    expect({ code, out }).toEqual({ code: 0, out: expect.stringContaining('✓ Drill passed') });
    expect(out).not.toContain('✗');
    expect(out).toMatch(/✓ signing: WALLET_NOT_FOUND/);
    expect(out).toMatch(/✓ the wallet is back\n {3}✓ it signs with the current PIN/);
    expect(out).toMatch(/✓ then the right PIN: PIN_LOCKED/);
    expect(out).toMatch(/✓ guard table alone rolled back .*: the lock-out is gone/);
    expect(out).toMatch(/✓ with the current wallet record, the current PIN: BLOB_INVALID/);
    expect(out).toMatch(/✓ with the older wallet record a host kept, the PIN the user changed works again/);
    expect(out).toMatch(/✓ the wallet record is intact, the guard item gone: BLOB_INVALID/);
    // The backups are files of both tables, taken together.
    for (const name of ['before-pin-change', 'after-pin-change']) {
      const manifest = JSON.parse(readFileSync(join(dir, 'backups', name, 'manifest.json'), 'utf8')) as { tables: Record<string, number> };
      expect(Object.keys(manifest.tables).sort()).toEqual(['enclave-wallet', 'enclave-wallet-guard']);
      expect(existsSync(join(dir, 'backups', name, 'enclave-wallet-guard.json'))).toBe(true);
    }
    // Nothing left running on the data folder.
    expect(existsSync(join(dir, 'launcher.json'))).toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 240_000);
