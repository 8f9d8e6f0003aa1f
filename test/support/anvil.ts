/** A real EVM node for tests: anvil (npm @foundry-rs/anvil-linux-amd64) on a free port, chain 31337. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPublicClient, http } from 'viem';
import { foundry } from 'viem/chains';

const anvilBin = join(fileURLToPath(new URL('../../', import.meta.url)), 'node_modules/.bin/anvil');

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

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
