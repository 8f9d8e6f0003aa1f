/** The real enclave process (enclave/dist/main.cjs, as `npm start` runs it) for tests, on a free port. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { enclaveV8Flags } from '../../enclave/src/process-env.js';

const main = join(fileURLToPath(new URL('../../', import.meta.url)), 'enclave/dist/main.cjs');

/** Starts it with the dev CA in `caDir`; resolves with its address once it logs `listening`. Needs the build. */
export function startEnclaveProcess(
  caDir: string,
  options: { nodeArgs?: string[]; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ child: ChildProcess; address: string; log: () => string }> {
  if (!existsSync(main)) throw new Error('enclave/dist/main.cjs is missing: run `npm run build` first');
  // The image's V8 flags when these tests run on the image's Node (npm run test:enclave:node24), as the image starts it.
  const v8Flags = enclaveV8Flags(process.version);
  const child = spawn(process.execPath, [...v8Flags, ...(options.nodeArgs ?? []), main], {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    env: {
      ...process.env,
      ...options.env,
      ENCLAVE_LISTEN: 'tcp://127.0.0.1:0',
      ENCLAVE_PLATFORM: 'simulated',
      ENCLAVE_DEV_CA_DIR: caDir,
      NODE_NO_WARNINGS: '1',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n')) {
        try {
          const entry = JSON.parse(line) as { event?: string; address?: string };
          if (entry.event === 'listening' && entry.address) resolve({ child, address: entry.address, log: () => buffered });
        } catch {
          // not a complete JSON line yet
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`enclave exited with ${code}: ${buffered}`)));
  });
}
