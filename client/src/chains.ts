/**
 * The signing and chain calls of the API (SPEC §9): messages, transactions and typed data signed by the enclave
 * with the PIN (or another factor) sealed to it, the host's chains and balances, and sends checked against the
 * app's own nodes. Digests are computed here from what the app asks to sign, never taken from the server.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { base58 } from '@scure/base';
import { fromBase64, toBase64, type SignKind } from './envelope.js';
import { walletPath } from './attested.js';
import { EnclaveWalletApiError } from './errors.js';
import { signFactor } from './factors.js';
import { checkBlockhashOnCluster } from './nodes.js';
import { fromHex } from './proto-copy/bytes.js';
import { encodeSolanaOffchainMessage } from './solana-offchain.js';
import { isSolanaTransactionMessage, parseSolanaMessage, solanaMessageOf, solTransferOf } from './solana-wire.js';
import { summarizeEvmMessage, summarizeSolanaMessage, summarizeSolanaTransaction, type ApprovalSummary } from './summary.js';
import type { Balance, Chain, ChainRef, Hex, SignOptions } from './types.js';
import { hex0x, WalletClient } from './wallets.js';

/** EIP-191 personal_sign digest: keccak256("\x19Ethereum Signed Message:\n" + len + message). */
export function personalMessageDigest(message: string | { raw: Uint8Array | Hex }): Hex {
  const bytes =
    typeof message === 'string' ? new TextEncoder().encode(message) : typeof message.raw === 'string' ? fromHex(message.raw, { prefix: true }) : message.raw;
  return hex0x(keccak_256(concatBytes(new TextEncoder().encode(`\x19Ethereum Signed Message:\n${bytes.length}`), bytes)));
}

export class ChainClient extends WalletClient {
  /** EIP-191 personal_sign; returns the 65-byte signature. */
  async signEvmMessage(walletId: string, message: string | { raw: Uint8Array | Hex }, options: SignOptions): Promise<Hex> {
    const address = await this.accountAddress(walletId, 'evm', options.address);
    const bytes =
      typeof message === 'string' ? new TextEncoder().encode(message) : typeof message.raw === 'string' ? fromHex(message.raw, { prefix: true }) : message.raw;
    const digest = personalMessageDigest({ raw: bytes });
    const apiMessage = typeof message === 'string' ? message : { raw: hex0x(bytes) };
    const out = await this.sign<{ signature: Hex }>(
      walletId,
      { network: 'evm', address, kind: 'message', message: apiMessage },
      digest,
      summarizeEvmMessage(bytes, address),
      options,
    );
    return out.signature;
  }

  /**
   * Signs an EVM request whose digest the caller computed from the same data
   * (the viem helpers in ./evm.js do it for transactions and typed data).
   * @internal
   */
  async signEvmWithDigest<T>(
    walletId: string,
    body: Record<string, unknown> & { kind: 'transaction' | 'typed-data' },
    digest: Hex,
    summarize: (signer: string) => ApprovalSummary,
    options: SignOptions,
  ): Promise<T> {
    const address = await this.accountAddress(walletId, 'evm', options.address);
    return this.sign<T>(walletId, { network: 'evm', address, ...body }, digest, summarize(address), options);
  }

  /**
   * Signs a Solana wire transaction (legacy or v0; signature slots may be zero). Returns the signature (64 bytes)
   * and the signed wire transaction. With `cluster`, the recent blockhash is first checked valid on that cluster
   * through the app's node (`rpc.solana[cluster]`), and the cluster is shown to the user and bound into the
   * envelope; without it the summary names no cluster (the transaction is the app's own, with its blockhash).
   */
  async signSolanaTransaction(
    walletId: string,
    wireTransaction: Uint8Array,
    options: SignOptions & { cluster?: string },
  ): Promise<{ signature: Uint8Array; signedTransaction: Uint8Array }> {
    const address = await this.accountAddress(walletId, 'solana', options.address);
    const message = solanaMessageOf(wireTransaction);
    const { cluster } = options;
    if (cluster !== undefined) await this.checkCluster(message, cluster);
    const out = await this.sign<{ signature: string; signedTransaction: string }>(
      walletId,
      { network: 'solana', address, kind: 'transaction', ...(cluster !== undefined ? { cluster } : {}), transaction: toBase64(wireTransaction) },
      hex0x(sha256(message)),
      summarizeSolanaTransaction(message, address, cluster),
      options,
      'sign',
      cluster,
    );
    return { signature: base58.decode(out.signature), signedTransaction: fromBase64(out.signedTransaction) };
  }

  /**
   * Signs raw bytes with a Solana key (off-chain message); returns the 64-byte signature. Bytes that parse as a
   * transaction message are refused (MESSAGE_IS_TRANSACTION) here, before any PIN is asked, and by the enclave.
   */
  async signSolanaMessage(walletId: string, message: Uint8Array, options: SignOptions): Promise<Uint8Array> {
    if (isSolanaTransactionMessage(message)) {
      throw new EnclaveWalletApiError({
        code: 'MESSAGE_IS_TRANSACTION',
        message: 'the message parses as a Solana transaction message: sign it as a transaction; nothing was signed',
        status: 0,
      });
    }
    const address = await this.accountAddress(walletId, 'solana', options.address);
    const out = await this.sign<{ signature: string }>(
      walletId,
      { network: 'solana', address, kind: 'message', message: toBase64(message) },
      hex0x(sha256(message)),
      summarizeSolanaMessage(message, address),
      options,
    );
    return base58.decode(out.signature);
  }

  /**
   * Signs `text` as a Solana off-chain message (`\xffsolana offchain` signing domain; version 1 by default, or
   * version 0 with an application domain; see solana-offchain.ts) with the account as its one signer. Returns the
   * signature and the message bytes it signs, which a verifier needs (e.g. @solana/kit's
   * verifyOffchainMessageEnvelope).
   */
  async signSolanaOffchainMessage(
    walletId: string,
    text: string,
    options: SignOptions & { version?: 0 | 1; applicationDomain?: string },
  ): Promise<{ signature: Uint8Array; signedMessage: Uint8Array }> {
    const address = await this.accountAddress(walletId, 'solana', options.address);
    const signedMessage = encodeSolanaOffchainMessage({
      text,
      signers: [address],
      ...(options.version !== undefined ? { version: options.version } : {}),
      ...(options.applicationDomain !== undefined ? { applicationDomain: options.applicationDomain } : {}),
    });
    return { signature: await this.signSolanaMessage(walletId, signedMessage, { ...options, address }), signedMessage };
  }

  /** Seals a sign envelope bound to the account and the digest, and posts it to /sign or (`send`) to /transactions/send. */
  private async sign<T>(
    walletId: string,
    body: Record<string, unknown> & { network: 'evm' | 'solana'; address: string; kind: 'transaction' | 'message' | 'typed-data' },
    digest: Hex,
    summary: ApprovalSummary,
    options: SignOptions,
    to: 'sign' | 'send' = 'sign',
    cluster?: string,
  ): Promise<T> {
    const path = walletPath(walletId, to === 'sign' ? '/sign' : '/transactions/send');
    const kind = `${body.network}-${String(body.kind)}` as SignKind;
    // The user is asked only once the enclave checks out (no PIN would be sealed otherwise).
    const factor = await signFactor(options, { walletId, kind, address: body.address, summary }, () => this.attestation());
    // A Solana transaction checked for a cluster carries it in the envelope (an EVM transaction's chain id is in its bytes).
    const pinEnvelope = await this.seal(
      {
        purpose: 'sign',
        walletId,
        network: body.network,
        address: body.address,
        kind,
        digest,
        ...(cluster !== undefined ? { cluster } : {}),
      },
      factor,
    );
    return this.request<T>('POST', path, { body: { ...body, pinEnvelope }, consumesEnvelope: true });
  }

  // --- chains ----------------------------------------------------------------

  /** The chains the host reads and broadcasts to. */
  async listChains(): Promise<Chain[]> {
    return (await this.request<{ chains: Chain[] }>('GET', '/v1/chains')).chains;
  }

  /** Balances of the wallet's accounts on one chain: the native coin and the configured tokens, as the chain's node reports them. */
  async getBalances(walletId: string, chain: ChainRef): Promise<Balance[]> {
    const query =
      chain.network === 'evm'
        ? `network=evm&chainId=${encodeURIComponent(String(chain.chainId))}`
        : `network=solana&cluster=${encodeURIComponent(chain.cluster)}`;
    return (await this.request<{ balances: Balance[] }>('GET', walletPath(walletId, `/balances?${query}`))).balances;
  }

  /**
   * Asks the host to prepare (nonce, gas, fees, blockhash) a transaction.
   * The answer is the untrusted host's: use the send helpers, which check it,
   * rather than binding a PIN to it directly.
   * @internal
   */
  async prepareTransaction<T>(walletId: string, body: Record<string, unknown>): Promise<T> {
    return this.request<T>('POST', walletPath(walletId, '/transactions/prepare'), { body });
  }

  /**
   * Signs a request whose digest the caller computed, and has the host send
   * it to the chain's node (once; a lost answer is an error with the hash).
   * @internal
   */
  async sendWithDigest<T>(
    walletId: string,
    body: Record<string, unknown> & { network: 'evm' | 'solana'; kind: 'transaction' },
    digest: Hex,
    summarize: (signer: string) => ApprovalSummary,
    options: SignOptions,
  ): Promise<T> {
    const address = await this.accountAddress(walletId, body.network, options.address);
    return this.sign<T>(walletId, { ...body, address }, digest, summarize(address), options, 'send');
  }

  /**
   * Refuses a message whose recent blockhash the app's node for `cluster` does not hold valid
   * (BLOCKHASH_NOT_ON_CLUSTER), or when the app configured no node for it (RPC_NOT_CONFIGURED).
   */
  private async checkCluster(message: Uint8Array, cluster: string): Promise<void> {
    const url = this.nodeUrl({ network: 'solana', cluster });
    const parsed = parseSolanaMessage(message);
    if (!parsed) throw new TypeError('not a Solana transaction message');
    await checkBlockhashOnCluster(this.fetcher, url, cluster, parsed.recentBlockhash);
  }

  /**
   * Sends `lamports` SOL from the wallet's Solana account (0, or
   * `options.address`) to `to` on a configured cluster. The host prepares
   * the transfer with the cluster's latest blockhash; this client refuses it
   * unless it is exactly that transfer and its blockhash is valid on
   * `cluster` according to the app's own node (`rpc.solana[cluster]`; none:
   * RPC_NOT_CONFIGURED), computes the digest itself, and only then asks for
   * and seals the PIN, bound to the digest and the cluster.
   */
  async sendSolanaTransfer(
    walletId: string,
    transfer: { cluster: string; to: string; lamports: bigint },
    options: SignOptions,
  ): Promise<{ signature: string; signedTransaction: Uint8Array }> {
    const from = await this.accountAddress(walletId, 'solana', options.address);
    // Before anything is asked of the host: a cluster the app has no node for is refused.
    this.nodeUrl({ network: 'solana', cluster: transfer.cluster });
    const prepared = await this.prepareTransaction<{ transaction: string }>(walletId, {
      network: 'solana',
      cluster: transfer.cluster,
      address: from,
      to: transfer.to,
      value: transfer.lamports.toString(),
    });
    const wire = fromBase64(prepared.transaction);
    const message = solanaMessageOf(wire);
    const seen = solTransferOf(message);
    if (!seen || seen.from !== from || seen.to !== transfer.to || seen.lamports !== transfer.lamports) {
      throw new EnclaveWalletApiError({
        code: 'PREPARED_TRANSACTION_MISMATCH',
        message: 'the host prepared another transaction than the transfer asked for; nothing was signed',
        status: 0,
      });
    }
    // Solana messages carry no chain id: the blockhash is what ties this one to a cluster.
    await this.checkCluster(message, transfer.cluster);
    const out = await this.sign<{ hash: string; signedTransaction: string }>(
      walletId,
      { network: 'solana', cluster: transfer.cluster, address: from, kind: 'transaction', transaction: prepared.transaction },
      hex0x(sha256(message)),
      summarizeSolanaTransaction(message, from, transfer.cluster),
      options,
      'send',
      transfer.cluster,
    );
    return { signature: out.hash, signedTransaction: fromBase64(out.signedTransaction) };
  }
}
