/**
 * A Solana cluster through its JSON-RPC API: balances (SOL and configured
 * SPL tokens: getBalance, getTokenAccountsByOwner), a prepared SOL transfer
 * (getLatestBlockhash) and broadcast (sendTransaction). Reads may be retried
 * once; a send never is.
 */
import { EnclaveWalletError } from '@enclave-wallet/proto';
import { base58 } from '@scure/base';
import { createHash } from 'node:crypto';
import type { SolanaChainConfig } from './config.js';
import type { Balance } from './evm.js';
import { solanaFailure } from './failures.js';
import { BALANCE_ACCOUNTS_AT_ONCE, inGroups } from './groups.js';

/** The SPL Token program (token accounts are 165 bytes: mint 0..32, owner 32..64, amount u64 LE 64..72). */
export const TOKEN_PROGRAM = 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA';
const SYSTEM_PROGRAM = new Uint8Array(32);
const RPC_TIMEOUT_MS = 10_000;

/** Solana's compact-u16 length prefix. */
function compactU16(n: number): number[] {
  const out: number[] = [];
  let v = n;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if (v === 0) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/**
 * An unsigned legacy transaction moving `lamports` from `from` to `to` with
 * the System Program's Transfer, and the digest a sign envelope binds
 * (SHA-256 of the message, as the enclave computes it).
 */
export function solanaTransfer(
  from: string,
  to: string,
  lamports: bigint,
  recentBlockhash: string,
): { transaction: string; digest: string; message: Uint8Array } {
  const payer = base58.decode(from);
  const recipient = base58.decode(to);
  const blockhash = base58.decode(recentBlockhash);
  if (payer.length !== 32 || recipient.length !== 32 || blockhash.length !== 32)
    throw new EnclaveWalletError('VALIDATION_FAILED', 'addresses and the blockhash are 32-byte base58 values');
  if (Buffer.from(payer).equals(Buffer.from(recipient))) throw new EnclaveWalletError('VALIDATION_FAILED', 'to: a transfer to the sending account itself');
  if (lamports <= 0n || lamports >= 1n << 64n) throw new EnclaveWalletError('VALIDATION_FAILED', 'value: lamports must be a positive 64-bit integer');
  const data = new Uint8Array(12);
  const view = new DataView(data.buffer);
  view.setUint32(0, 2, true); // SystemInstruction::Transfer
  view.setBigUint64(4, lamports, true);
  const message = Uint8Array.from([
    1,
    0,
    1, // one signer (the payer), no read-only signer, one read-only account (the System Program)
    ...compactU16(3),
    ...payer,
    ...recipient,
    ...SYSTEM_PROGRAM,
    ...blockhash,
    ...compactU16(1),
    2,
    ...compactU16(2),
    0,
    1,
    ...compactU16(data.length),
    ...data,
  ]);
  const wire = Uint8Array.from([...compactU16(1), ...new Uint8Array(64), ...message]);
  return { transaction: Buffer.from(wire).toString('base64'), digest: '0x' + createHash('sha256').update(message).digest('hex'), message };
}

export class SolanaChain {
  private id = 0;

  constructor(
    readonly config: SolanaChainConfig,
    private readonly timeoutMs = RPC_TIMEOUT_MS,
  ) {}

  /** One JSON-RPC call. Transport failures are CHAIN_UNAVAILABLE (with `hash` for a send); node errors go to `onError`. */
  private async rpc<T>(method: string, params: unknown[], options: { retry: boolean; hash?: string } = { retry: true }): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(this.config.rpc.reveal(), {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: ++this.id, method, params }),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch {
        // Never quote the error: it names the URL.
        if (options.retry && attempt === 0) continue;
        throw new EnclaveWalletError(
          'CHAIN_UNAVAILABLE',
          options.hash
            ? 'the node did not answer; the transaction may or may not have been sent: look it up by its signature before sending again'
            : 'the cluster’s node cannot be reached',
          options.hash ? { hash: options.hash } : {},
        );
      }
      if (res.status >= 500 || res.status === 429) {
        if (options.retry && attempt === 0) continue;
        throw new EnclaveWalletError('CHAIN_UNAVAILABLE', `the cluster’s node is unavailable (HTTP ${res.status})`, options.hash ? { hash: options.hash } : {});
      }
      let body: { result?: T; error?: { code?: unknown; message?: unknown; data?: unknown } };
      try {
        body = (await res.json()) as typeof body;
      } catch {
        throw new EnclaveWalletError('CHAIN_ERROR', `the cluster’s node gave an answer that is not JSON-RPC (HTTP ${res.status})`);
      }
      if (body.error) throw solanaFailure(body.error);
      if (!('result' in body)) throw new EnclaveWalletError('CHAIN_ERROR', 'the cluster’s node gave an answer without a result');
      return body.result as T;
    }
  }

  /** SOL and configured SPL balances of each address (token accounts of one mint summed). */
  async balances(addresses: string[]): Promise<Balance[]> {
    const perAddress = await inGroups(addresses, BALANCE_ACCOUNTS_AT_ONCE, async (address) => {
      const [lamports, accounts] = await Promise.all([
        this.rpc<{ value: number }>('getBalance', [address, { commitment: 'confirmed' }]),
        this.config.tokens.length
          ? this.rpc<{ value: Array<{ account: { data: [string, string] } }> }>('getTokenAccountsByOwner', [
              address,
              { programId: TOKEN_PROGRAM },
              { encoding: 'base64', commitment: 'confirmed' },
            ])
          : Promise.resolve({ value: [] }),
      ]);
      if (!Number.isSafeInteger(lamports?.value))
        throw new EnclaveWalletError('CHAIN_ERROR', 'the cluster’s node answered getBalance with something else than a number');
      const byMint = new Map<string, bigint>();
      for (const a of accounts.value ?? []) {
        const data = Buffer.from(a.account?.data?.[0] ?? '', 'base64');
        if (data.length !== 165) continue;
        const mint = base58.encode(data.subarray(0, 32));
        byMint.set(mint, (byMint.get(mint) ?? 0n) + data.readBigUInt64LE(64));
      }
      return [
        { address, asset: 'native', symbol: this.config.nativeSymbol, decimals: 9, amount: String(lamports.value) },
        ...this.config.tokens.map((t): Balance => ({
          address,
          asset: t.address,
          symbol: t.symbol,
          decimals: t.decimals,
          amount: (byMint.get(t.address) ?? 0n).toString(),
        })),
      ];
    });
    return perAddress.flat();
  }

  /** A SOL transfer from `from`, with the cluster's latest blockhash. */
  async prepareTransfer(from: string, to: string, lamports: bigint): Promise<{ transaction: string; digest: string; lastValidBlockHeight: number }> {
    const { value } = await this.rpc<{ value: { blockhash: string; lastValidBlockHeight: number } }>('getLatestBlockhash', [{ commitment: 'confirmed' }]);
    if (typeof value?.blockhash !== 'string') throw new EnclaveWalletError('CHAIN_ERROR', 'the cluster’s node answered getLatestBlockhash without a blockhash');
    const { transaction, digest } = solanaTransfer(from, to, lamports, value.blockhash);
    return { transaction, digest, lastValidBlockHeight: value.lastValidBlockHeight };
  }

  /** Hands a signed transaction (base64) to the node, once; answers its signature. */
  async send(signedTransaction: string, signature: string): Promise<string> {
    const accepted = await this.rpc<string>('sendTransaction', [signedTransaction, { encoding: 'base64', preflightCommitment: 'confirmed' }], {
      retry: false,
      hash: signature,
    });
    if (accepted !== signature) throw new EnclaveWalletError('CHAIN_ERROR', 'the node answered another signature than the one made', { hash: signature });
    return signature;
  }
}
