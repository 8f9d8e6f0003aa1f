#!/usr/bin/env node
// The modules of proto/ the SDK needs (the HPKE labels, the recovery-code format, the byte helpers, the passkey challenge and salt) are copied verbatim into
// client/src/proto-copy/, so that the published @enclave-wallet/client depends on no workspace package and ships no
// host/enclave code (no protobuf, no transports). proto/src stays the one definition: run this after changing
// any of them there; test/contract/client-package.test.ts fails while a copy differs.
import { copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const COPIED = ['bytes.ts', 'labels.ts', 'passkey.ts', 'recovery-code.ts'];
for (const file of COPIED) copyFileSync(join(repo, 'proto', 'src', file), join(repo, 'client', 'src', 'proto-copy', file));
console.log(`copied ${COPIED.map((f) => `proto/src/${f}`).join(', ')} to client/src/proto-copy/`);
