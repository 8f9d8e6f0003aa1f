/** A real EVM node for tests: anvil (npm @foundry-rs/anvil-linux-amd64) on a free port, chain 31337. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPublicClient, http } from 'viem';
import { foundry } from 'viem/chains';
import { freePort } from './ports.js';

const anvilBin = join(fileURLToPath(new URL('../../', import.meta.url)), 'node_modules/.bin/anvil');

export interface Anvil {
  rpc: string;
  stop(): void;
}

export async function startAnvil(): Promise<Anvil> {
  const port = await freePort();
  const child: ChildProcess = spawn(anvilBin, ['--host', '127.0.0.1', '--port', String(port), '--chain-id', '31337', '--silent'], { stdio: 'ignore' });
  const rpc = `http://127.0.0.1:${port}`;
  const client = createPublicClient({ chain: foundry, transport: http(rpc) });
  for (let i = 0; i < 100; i++) {
    try {
      await client.getChainId();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { rpc, stop: () => child.kill() };
}
