/**
 * The PIN prompt's Solana summaries (see ../summary.ts): a transaction decoded from its message bytes (programs
 * named, System and SPL token transfers recognised), a message or an off-chain message.
 */
import { decodeSolanaOffchainMessage, type SolanaOffchainMessage } from '../solana-offchain.js';
import { parseSolanaMessage } from '../solana-wire.js';
import { formatUnits, messageContent, type MessageContent } from './values.js';

/** A transfer a Solana transaction makes. */
export interface SolanaTransfer {
  program: 'system' | 'spl-token' | 'spl-token-2022';
  from: string;
  to: string;
  /** Smallest unit (lamports for SOL). */
  amount: string;
  /** SOL, or undefined for tokens. */
  symbol: string | undefined;
  /** With SOL and SPL TransferChecked: the amount with its decimal point. */
  formatted: string | undefined;
  /** SPL TransferChecked: the mint. */
  mint?: string;
  /** SPL: the owner or delegate that signs the transfer. */
  authority?: string;
}

export interface SolanaTransactionSummary {
  kind: 'solana-transaction';
  network: 'solana';
  signer: string;
  /**
   * The cluster the transaction is for, set only when the SDK checked it: the recent blockhash is valid on this
   * cluster according to the app's own node (`rpc.solana`). Undefined for an app's own transaction signed
   * without `cluster`.
   */
  cluster: string | undefined;
  /** The message's recent blockhash (base58): it ties the transaction to one cluster, Solana messages having no chain id. */
  recentBlockhash: string;
  version: 'legacy' | 0;
  feePayer: string;
  /** Every program the transaction calls, base58, in instruction order, once each. */
  programs: Array<{ id: string; name: string | undefined }>;
  transfers: SolanaTransfer[];
  instructions: number;
  /** v0: accounts loaded from address lookup tables are shown as `<table>#<index>`, unresolved. */
  lookupTables: number;
}

export interface SolanaMessageSummary {
  kind: 'solana-message';
  network: 'solana';
  signer: string;
  /** The message; for an off-chain message, its text. */
  message: MessageContent;
  /** When the bytes are an off-chain message (`\xffsolana offchain`): its header. */
  offchain: Omit<SolanaOffchainMessage, 'text'> | undefined;
}

const PROGRAMS: Readonly<Record<string, string>> = {
  '11111111111111111111111111111111': 'System Program',
  TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA: 'SPL Token',
  TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb: 'SPL Token-2022',
  ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL: 'Associated Token Account',
  ComputeBudget111111111111111111111111111111: 'Compute Budget',
  MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr: 'Memo',
};
const u64le = (b: Uint8Array, at: number): bigint => new DataView(b.buffer, b.byteOffset + at, 8).getBigUint64(0, true);

/** A Solana transaction, from its message bytes (whose SHA-256 the envelope binds). */
export function summarizeSolanaTransaction(message: Uint8Array, signer: string, cluster?: string): SolanaTransactionSummary {
  const m = parseSolanaMessage(message);
  if (!m) throw new TypeError('not a Solana transaction message');
  const loaded = [...m.lookups.flatMap((l) => l.writable.map((i) => `${l.table}#${i}`)), ...m.lookups.flatMap((l) => l.readonly.map((i) => `${l.table}#${i}`))];
  const account = (i: number | undefined): string => (i === undefined ? '?' : (m.accountKeys[i] ?? loaded[i - m.accountKeys.length] ?? `#${i}`));
  const programs: SolanaTransactionSummary['programs'] = [];
  const transfers: SolanaTransfer[] = [];
  for (const ix of m.instructions) {
    const id = account(ix.programIndex);
    if (!programs.some((p) => p.id === id)) programs.push({ id, name: PROGRAMS[id] });
    const transfer = transferOf(id, ix.accountIndexes, ix.data, account);
    if (transfer) transfers.push(transfer);
  }
  return {
    kind: 'solana-transaction',
    network: 'solana',
    signer,
    cluster,
    recentBlockhash: m.recentBlockhash,
    version: m.version,
    feePayer: account(0),
    programs,
    transfers,
    instructions: m.instructions.length,
    lookupTables: m.lookups.length,
  };
}

/** The transfer one instruction makes: System Program Transfer, SPL Token Transfer or TransferChecked; else undefined. */
function transferOf(program: string, a: number[], d: Uint8Array, account: (i: number | undefined) => string): SolanaTransfer | undefined {
  if (program === '11111111111111111111111111111111' && d.length === 12 && d[0] === 2 && d[1] === 0 && d[2] === 0 && d[3] === 0 && a.length >= 2) {
    const lamports = u64le(d, 4);
    return {
      program: 'system',
      from: account(a[0]),
      to: account(a[1]),
      amount: lamports.toString(),
      symbol: 'SOL',
      formatted: `${formatUnits(lamports, 9)} SOL`,
    };
  }
  const token = PROGRAMS[program] === 'SPL Token' ? 'spl-token' : PROGRAMS[program] === 'SPL Token-2022' ? 'spl-token-2022' : undefined;
  if (token && d[0] === 3 && d.length === 9 && a.length >= 3) {
    const amount = u64le(d, 1).toString();
    return { program: token, from: account(a[0]), to: account(a[1]), amount, symbol: undefined, formatted: undefined, authority: account(a[2]) };
  }
  if (token && d[0] === 12 && d.length === 10 && a.length >= 4) {
    const amount = u64le(d, 1);
    return {
      program: token,
      from: account(a[0]),
      to: account(a[2]),
      amount: amount.toString(),
      symbol: undefined,
      formatted: formatUnits(amount, d[9]!),
      mint: account(a[1]),
      authority: account(a[3]),
    };
  }
  return undefined;
}

/** A Solana message, from the bytes signed; an off-chain message (`\xffsolana offchain`) is shown by its text and header. */
export function summarizeSolanaMessage(bytes: Uint8Array, signer: string): SolanaMessageSummary {
  const offchain = decodeSolanaOffchainMessage(bytes);
  if (offchain) {
    const { text, ...header } = offchain;
    return { kind: 'solana-message', network: 'solana', signer, message: messageContent(new TextEncoder().encode(text)), offchain: header };
  }
  return { kind: 'solana-message', network: 'solana', signer, message: messageContent(bytes), offchain: undefined };
}
