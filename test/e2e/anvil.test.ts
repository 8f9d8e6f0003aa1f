/**
 * A transaction signed through the API is accepted by a real EVM node:
 * anvil (npm @foundry-rs/anvil-linux-amd64) mines it, and the chain's sender
 * is the wallet's address. Legacy, EIP-2930 and EIP-1559 all go through.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPublicClient, http, keccak256, parseEther, serializeTransaction, type TransactionSerializable } from 'viem';
import { foundry } from 'viem/chains';
import { verifyAttestationDocument, hpkeSeal, wireOf } from '@enclave-wallet/client';
import { readDevRoot } from '../../enclave/src/platform/index.js';
import { startStack, type Stack } from '../support/stack.js';

const anvilBin = join(fileURLToPath(new URL('../../', import.meta.url)), 'node_modules/.bin/anvil');
let anvil: ChildProcess;
let rpc: string;
let stack: Stack;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

beforeAll(async () => {
  const port = await freePort();
  anvil = spawn(anvilBin, ['--host', '127.0.0.1', '--port', String(port), '--chain-id', '31337', '--silent'], { stdio: 'ignore' });
  rpc = `http://127.0.0.1:${port}`;
  const client = createPublicClient({ chain: foundry, transport: http(rpc) });
  for (let i = 0; i < 100; i++) {
    try {
      await client.getChainId();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  stack = await startStack();
}, 60_000);
afterAll(async () => {
  await stack.close();
  anvil.kill();
});

async function call<T>(method: string, path: string, body?: unknown, token?: string): Promise<T> {
  const res = await fetch(stack.url + path, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const json = (await res.json()) as T & { error?: { code: string } };
  if (!res.ok) throw new Error(`${path}: ${res.status} ${json.error?.code}`);
  return json;
}

async function envelope(body: Record<string, unknown>): Promise<string> {
  const att = await call<{ document: string }>('GET', '/v1/enclave/attestation');
  const key = verifyAttestationDocument(Buffer.from(att.document, 'base64'), { root: readDevRoot(stack.caDir) }).publicKey!;
  const full = { v: 1, exp: Math.floor(Date.now() / 1000) + 120, nonce: randomBytes(16).toString('hex'), ...body };
  return Buffer.from(wireOf(hpkeSeal(key, new TextEncoder().encode('enclave-wallet/pin-envelope/v1'), new TextEncoder().encode(JSON.stringify(full))))).toString('base64');
}

test('legacy, EIP-2930 and EIP-1559 transactions signed by the enclave are mined by anvil', async () => {
  const { accessToken, user } = await call<{ accessToken: string; user: { id: string } }>('POST', '/v1/auth/login', { idToken: await stack.issuer.sign({ email: 'chain@example.com' }) });
  const wallet = await call<{ walletId: string; accounts: Array<{ network: string; address: `0x${string}` }> }>('POST', '/v1/wallets', { pinEnvelope: await envelope({ purpose: 'create-wallet', sub: user.id, pin: '493817' }) }, accessToken);
  const address = wallet.accounts.find((a) => a.network === 'evm')!.address;
  const chain = createPublicClient({ chain: foundry, transport: http(rpc) });
  await chain.request({ method: 'anvil_setBalance' as never, params: [address, '0xde0b6b3a7640000'] as never });
  const gasPrice = await chain.getGasPrice();
  for (const type of ['legacy', 'eip2930', 'eip1559'] as const) {
    const nonce = await chain.getTransactionCount({ address });
    const base = { chainId: 31337, to: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as const, value: parseEther('0.001'), nonce, gas: 30000n };
    const tx: TransactionSerializable =
      type === 'eip1559' ? { ...base, type, maxFeePerGas: gasPrice * 2n, maxPriorityFeePerGas: 1n } : type === 'eip2930' ? { ...base, type, gasPrice: gasPrice * 2n, accessList: [] } : { ...base, type, gasPrice: gasPrice * 2n };
    const apiTx = {
      type,
      to: base.to,
      value: base.value.toString(),
      nonce: String(nonce),
      gas: '30000',
      ...(type === 'eip1559' ? { maxFeePerGas: (gasPrice * 2n).toString(), maxPriorityFeePerGas: '1' } : { gasPrice: (gasPrice * 2n).toString() }),
      ...(type === 'eip2930' ? { accessList: [] } : {}),
    };
    const out = await call<{ signedTransaction: `0x${string}` }>(
      'POST',
      `/v1/wallets/${wallet.walletId}/sign`,
      { network: 'evm', kind: 'transaction', chainId: 31337, transaction: apiTx, pinEnvelope: await envelope({ purpose: 'sign', sub: user.id, walletId: wallet.walletId, network: 'evm', address, digest: keccak256(serializeTransaction(tx)), pin: '493817' }) },
      accessToken,
    );
    const hash = await chain.sendRawTransaction({ serializedTransaction: out.signedTransaction });
    const receipt = await chain.waitForTransactionReceipt({ hash });
    expect({ type, status: receipt.status, from: receipt.from }).toEqual({ type, status: 'success', from: address.toLowerCase() });
  }
}, 60_000);
