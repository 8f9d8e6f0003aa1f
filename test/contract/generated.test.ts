/** The committed generated code is exactly what `npm run proto:gen` makes from the schema. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const protoDir = fileURLToPath(new URL('../../proto/', import.meta.url));

test('proto/generated is up to date with proto/schema', () => {
  const out = mkdtempSync(join(tmpdir(), 'proto-gen-'));
  execFileSync(process.execPath, [join(protoDir, 'scripts', 'generate.mjs'), out], { stdio: 'pipe' });
  for (const file of ['enclave_wallet.js', 'enclave_wallet.d.ts']) {
    const fresh = readFileSync(join(out, file), 'utf8');
    const committed = readFileSync(join(protoDir, 'generated', file), 'utf8');
    // Compare lengths first for a readable failure, then the whole text.
    expect({ file, length: committed.length }).toEqual({ file, length: fresh.length });
    expect(committed === fresh).toBe(true);
  }
}, 60_000);
