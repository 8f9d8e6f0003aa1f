/** CHAINS: every problem reported at once, and an RPC URL (which may hold an API key) never shown. */
import { inspect } from 'node:util';
import { loadHostConfig } from '../src/config.js';
import { parseChains, RpcEndpoint } from '../src/chains/config.js';
import { classifyRefusal, revertReason } from '../src/chains/failures.js';
import { solanaTransfer } from '../src/chains/solana.js';

const SECRET_URL = 'https://eth.example.com/v2/sk_live_SECRETKEY123';
const good = [
  {
    network: 'evm',
    chainId: 1,
    name: 'Ethereum',
    rpcUrl: SECRET_URL,
    nativeSymbol: 'ETH',
    tokens: [{ address: '0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48', symbol: 'USDC', decimals: 6 }],
  },
  {
    network: 'solana',
    cluster: 'mainnet-beta',
    name: 'Solana',
    rpcUrl: 'https://sol.example.com/?api-key=SECRET2',
    nativeSymbol: 'SOL',
    tokens: [{ address: 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v', symbol: 'USDC', decimals: 6 }],
  },
];

test('a valid CHAINS parses, EVM token addresses checksummed, and the RPC URL is redacted in JSON, strings and inspect', () => {
  const chains = parseChains(JSON.stringify(good));
  expect(chains.map((c) => (c.network === 'evm' ? c.chainId : c.cluster))).toEqual([1, 'mainnet-beta']);
  expect(chains[0]!.tokens[0]!.address).toBe('0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48');
  expect(chains[0]!.rpc.reveal()).toBe(SECRET_URL);
  for (const shown of [JSON.stringify(chains), String(chains[0]!.rpc), inspect(chains, { depth: 5 }), `${chains[1]!.rpc}`]) {
    expect(shown).not.toContain('SECRET');
  }
  expect(new RpcEndpoint('x').toJSON()).toBe('[redacted]');
});

test('unset or empty CHAINS: no chains', () => {
  expect(parseChains(undefined)).toEqual([]);
  expect(parseChains('  ')).toEqual([]);
});

test('every problem is reported at once, by position, and no message quotes a URL', () => {
  const bad = [
    {
      network: 'evm',
      chainId: 0,
      name: '',
      rpcUrl: 'ftp://x.example/SECRETKEY',
      nativeSymbol: 'ETH',
      tokens: [{ address: '0x12', symbol: 'USDC', decimals: 300 }],
    },
    { network: 'bitcoin', name: 'B', rpcUrl: SECRET_URL, nativeSymbol: 'BTC' },
    {
      network: 'solana',
      cluster: 'Main Net',
      name: 'S',
      rpcUrl: SECRET_URL,
      nativeSymbol: 'SOL',
      chainId: 5,
      extra: true,
      tokens: [{ address: 'not-base58!', symbol: '', decimals: 6 }],
    },
    { network: 'evm', chainId: 1, name: 'A', rpcUrl: SECRET_URL, nativeSymbol: 'ETH' },
    { network: 'evm', chainId: 1, name: 'B', rpcUrl: SECRET_URL, nativeSymbol: 'ETH' },
  ];
  let message = '';
  try {
    parseChains(JSON.stringify(bad));
  } catch (err) {
    message = (err as Error).message;
  }
  for (const expected of [
    'CHAINS[0].chainId: must be a positive integer',
    'CHAINS[0].name: must be a name',
    'CHAINS[0].rpcUrl: must be an http(s) URL',
    'CHAINS[0].tokens[0].address: must be a 20-byte 0x address',
    'CHAINS[0].tokens[0].decimals: must be an integer from 0 to 255',
    'CHAINS[1].network: must be "evm" or "solana"',
    'CHAINS[2].extra: unknown field',
    'CHAINS[2].cluster: must be a cluster name',
    'CHAINS[2].chainId: is for EVM chains',
    'CHAINS[2].tokens[0].address: must be a base58 mint address',
    'CHAINS[2].tokens[0].symbol: must be 1 to 16 characters',
    'CHAINS[4].chainId: is configured twice',
  ]) {
    expect(message).toContain(expected);
  }
  expect(message).not.toContain('SECRET');
  expect(() => parseChains('{"not":"an array"}')).toThrow('CHAINS must be a JSON array');
  expect(() => parseChains(`[{"rpcUrl":"${SECRET_URL}"`)).toThrow(/^CHAINS is not valid JSON$/);
});

test('the host configuration reports CHAINS problems with its other problems', () => {
  expect(() =>
    loadHostConfig({ CHAINS: JSON.stringify([{ network: 'evm', chainId: -1, name: 'x', rpcUrl: SECRET_URL, nativeSymbol: 'ETH' }]), HOST_PORT: 'no' }),
  ).toThrow(/HOST_PORT must be a port number\n\s+CHAINS\[0\]\.chainId: must be a positive integer/);
  expect(loadHostConfig({ CHAINS: JSON.stringify(good) }).chains).toHaveLength(2);
});

test('node refusals are sorted by what nodes say', () => {
  expect(classifyRefusal('nonce too low: next nonce 5, tx nonce 4')).toBe('NONCE_TOO_LOW');
  expect(classifyRefusal('Insufficient funds for gas * price + value')).toBe('INSUFFICIENT_FUNDS');
  expect(classifyRefusal('max fee per gas less than block base fee')).toBe('FEE_TOO_LOW');
  expect(classifyRefusal('replacement transaction underpriced')).toBe('FEE_TOO_LOW');
  expect(classifyRefusal('already known')).toBe('ALREADY_KNOWN');
  expect(classifyRefusal('execution reverted: nope')).toBe('TRANSACTION_REVERTED');
  expect(classifyRefusal('something else entirely')).toBe('TRANSACTION_REJECTED');
  // Error(string) "nope" and Panic(0x11) (arithmetic overflow), as contracts return them.
  expect(revertReason('0x08c379a0' + '0'.repeat(62) + '20' + '0'.repeat(63) + '4' + Buffer.from('nope').toString('hex').padEnd(64, '0'))).toBe('nope');
  expect(revertReason('0x4e487b71' + '0'.repeat(62) + '11')).toBe('panic 17');
  expect(revertReason('0xdeadbeef')).toBe('custom error 0xdeadbeef');
  expect(revertReason('0x')).toBeUndefined();
});

test('a Solana transfer cannot be made to the sender itself or for nothing', () => {
  const a = 'EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v';
  const b = '11111111111111111111111111111112';
  const blockhash = 'CmpNeggWJ4JaWJeJ8YKN1Zypmk7uvQq3PECGUCAEMbky';
  expect(() => solanaTransfer(a, a, 1n, blockhash)).toThrow('to: a transfer to the sending account itself');
  expect(() => solanaTransfer(a, b, 0n, blockhash)).toThrow('lamports must be a positive 64-bit integer');
  expect(solanaTransfer(a, b, 5n, blockhash).digest).toMatch(/^0x[0-9a-f]{64}$/);
});
