/**
 * One balances request against a node (a real HTTP JSON-RPC server here):
 * accounts × (1 + 3 × tokens) EVM calls, or 2 Solana calls per account. They
 * go out a group of accounts at a time, in JSON-RPC batches of at most
 * EVM_BATCH_SIZE calls, never as one batch of hundreds (41 accounts and 3
 * tokens were once one batch of 411 calls).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encodeAbiParameters, type Hex } from 'viem';
import { parseChains } from '../src/chains/config.js';
import { EvmChain } from '../src/chains/evm.js';
import { BALANCE_ACCOUNTS_AT_ONCE, EVM_BATCH_SIZE } from '../src/chains/groups.js';
import { SolanaChain } from '../src/chains/solana.js';

interface Call {
  id: number;
  method: string;
  params: unknown[];
}

/** A node that answers every call, recording the size of each HTTP request's batch and the most calls in flight at once. */
async function node(answer: (call: Call) => unknown): Promise<{ url: string; batches: number[]; maxInFlight: () => number; server: Server }> {
  const batches: number[] = [];
  let inFlight = 0;
  let most = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Call | Call[];
      const calls = Array.isArray(body) ? body : [body];
      batches.push(calls.length);
      inFlight += calls.length;
      most = Math.max(most, inFlight);
      const answers = calls.map((c) => ({ jsonrpc: '2.0', id: c.id, result: answer(c) }));
      // Answered a little later, so that what the host sends at once is in flight together.
      setTimeout(() => {
        inFlight -= calls.length;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(Array.isArray(body) ? answers : answers[0]));
      }, 10);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, batches, maxInFlight: () => most, server };
}

const addresses = Array.from({ length: 41 }, (_, i) => `0x${(i + 1).toString(16).padStart(40, '0')}`);
const tokens = ['0x' + 'aa'.repeat(20), '0x' + 'bb'.repeat(20), '0x' + 'cc'.repeat(20)].map((address) => ({ address, symbol: 'TKN', decimals: 18 }));

test('EVM: 41 accounts and 3 tokens are 411 calls, in batches of at most EVM_BATCH_SIZE, a group of accounts at a time', async () => {
  const evm = await node((c) => {
    if (c.method === 'eth_chainId') return '0x7a69';
    if (c.method === 'eth_getBalance') return '0x1';
    const data = (c.params[0] as { data: Hex }).data;
    if (data.startsWith('0x313ce567')) return encodeAbiParameters([{ type: 'uint8' }], [18]);
    if (data.startsWith('0x95d89b41')) return encodeAbiParameters([{ type: 'string' }], ['TKN']);
    return encodeAbiParameters([{ type: 'uint256' }], [5n]);
  });
  try {
    const [config] = parseChains(JSON.stringify([{ network: 'evm', chainId: 31337, name: 'test', rpcUrl: evm.url, nativeSymbol: 'ETH', tokens }]));
    const balances = await new EvmChain(config as Extract<typeof config, { network: 'evm' }>).balances(addresses);
    expect(balances).toHaveLength(41 * 4);
    expect(balances.every((b) => b.amount === (b.asset === 'native' ? '1' : '5'))).toBe(true);
    const calls = evm.batches.reduce((a, b) => a + b, 0);
    expect(calls).toBe(1 + 41 * (1 + 3 * 3)); // eth_chainId once, then the balances
    expect(Math.max(...evm.batches)).toBeLessThanOrEqual(EVM_BATCH_SIZE);
    expect(evm.maxInFlight()).toBeLessThanOrEqual(BALANCE_ACCOUNTS_AT_ONCE * (1 + 3 * 3));
  } finally {
    evm.server.close();
  }
});

test('Solana: 2 calls per account, a group of accounts at a time', async () => {
  const solana = await node((c) => (c.method === 'getBalance' ? { value: 7 } : { value: [] }));
  try {
    const [config] = parseChains(
      JSON.stringify([
        {
          network: 'solana',
          cluster: 'localnet',
          name: 'test',
          rpcUrl: solana.url,
          nativeSymbol: 'SOL',
          tokens: [{ address: '11111111111111111111111111111112', symbol: 'TKN', decimals: 6 }],
        },
      ]),
    );
    const owners = Array.from({ length: 41 }, () => '11111111111111111111111111111111');
    const balances = await new SolanaChain(config as Extract<typeof config, { network: 'solana' }>).balances(owners);
    expect(balances).toHaveLength(41 * 2);
    expect(solana.batches.reduce((a, b) => a + b, 0)).toBe(41 * 2);
    expect(solana.maxInFlight()).toBeLessThanOrEqual(BALANCE_ACCOUNTS_AT_ONCE * 2);
  } finally {
    solana.server.close();
  }
});
