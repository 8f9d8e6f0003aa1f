/** A real EVM node for tests: anvil (npm @foundry-rs/anvil-linux-amd64) on a free port, chain 31337. */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPublicClient, http } from 'viem';
import { freePort } from './ports.js';

const anvilBin = join(fileURLToPath(new URL('../../', import.meta.url)), 'node_modules/.bin/anvil');

export interface Anvil {
  rpc: string;
  stop(): void;
}

/** `chainId` (default 31337) and `hardfork` (e.g. `berlin`: a chain without a base fee) as anvil takes them. */
export async function startAnvil(options: { chainId?: number; hardfork?: string } = {}): Promise<Anvil> {
  const port = await freePort();
  const args = [
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--chain-id',
    String(options.chainId ?? 31337),
    '--silent',
    ...(options.hardfork ? ['--hardfork', options.hardfork] : []),
  ];
  const child: ChildProcess = spawn(anvilBin, args, { stdio: 'ignore' });
  const rpc = `http://127.0.0.1:${port}`;
  const client = createPublicClient({ transport: http(rpc) });
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
