/**
 * What a PIN approves, for the user to read before typing it: a summary
 * decoded from the exact bytes whose digest the PIN envelope binds (the
 * serialised EVM transaction, the personal_sign message bytes, the typed data
 * object sent to the enclave, the Solana message bytes), so a summary cannot
 * describe something else than what is signed. `getPin` receives it.
 *
 * Amounts are integers in the smallest unit, as decimal strings; `formatted`
 * adds the decimal point where the decimals are known (native coins; SPL
 * TransferChecked). Token contracts' symbols and decimals are not known
 * offline and are not taken from the (untrusted) host: ERC-20 amounts are
 * raw, next to the token's address. EVM addresses are EIP-55 checksummed.
 */
import { bytesToHex } from '@noble/hashes/utils.js';
import { getAddress, parseTransaction, type Hex } from 'viem';
import type { SignKind } from './envelope.js';
import { decodeSolanaOffchainMessage, type SolanaOffchainMessage } from './solana-offchain.js';
import { parseSolanaMessage } from './solana-wire.js';

/** A message's bytes as the user should see them: UTF-8 text when they are plain text, hex otherwise. */
export interface MessageContent {
  encoding: 'utf-8' | 'hex';
  /** The text, or 0x-hex of the bytes. */
  text: string;
  bytes: number;
}

/** A decoded EVM contract call. ERC-20 amounts are raw (the token's smallest unit). */
export type ContractCall =
  | { type: 'erc20-transfer'; token: string; recipient: string; amount: string }
  | { type: 'erc20-transfer-from'; token: string; from: string; recipient: string; amount: string }
  | { type: 'erc20-approve'; token: string; spender: string; amount: string; unlimited: boolean }
  | { type: 'contract-call'; contract: string; selector: Hex; dataBytes: number }
  | { type: 'deploy'; dataBytes: number };

export interface EvmTransactionSummary {
  kind: 'evm-transaction';
  network: 'evm';
  signer: string;
  chain: { chainId: number; name: string | undefined };
  type: 'legacy' | 'eip2930' | 'eip1559';
  /** The recipient (for a token call: the token contract); null when the transaction deploys a contract. */
  to: string | null;
  value: { wei: string; symbol: string; formatted: string };
  /** Present when the transaction carries data. */
  call: ContractCall | undefined;
  nonce: number;
  gas: string;
  /** The most the signer pays per gas, in wei (maxFeePerGas, or gasPrice). */
  maxFeePerGas: string;
  /** The most the transaction can cost in fees: gas limit × maxFeePerGas, in wei and in the chain's native coin. */
  maxTotalFee: { wei: string; symbol: string; formatted: string };
}

export interface EvmMessageSummary {
  kind: 'evm-message';
  network: 'evm';
  signer: string;
  message: MessageContent;
}

export interface EvmTypedDataSummary {
  kind: 'evm-typed-data';
  network: 'evm';
  signer: string;
  domain: { name?: string; version?: string; chainId?: string; verifyingContract?: string; salt?: string };
  primaryType: string;
  /** The primary type's fields in declaration order; nested structs and arrays as JSON. */
  fields: Array<{ name: string; type: string; value: string }>;
}

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

/** What `getPin` is shown: one summary per kind of payload, decoded from the bytes the envelope's digest binds. */
export type ApprovalSummary = EvmTransactionSummary | EvmMessageSummary | EvmTypedDataSummary | SolanaTransactionSummary | SolanaMessageSummary;

/** What `getPin` receives: the wallet, the kind of payload (as the envelope names it), the signing account, and the summary. */
export interface PinRequest {
  walletId: string;
  kind: SignKind;
  address: string;
  summary: ApprovalSummary;
}

/** Asks the user for the PIN; called once per signature, after the summary is decoded and before anything is sent. */
export type GetPin = (request: PinRequest) => string | Promise<string>;

// --- helpers -------------------------------------------------------------------

/** An integer in the smallest unit with its decimal point: formatUnits(1500000000n, 9) = "1.5". */
export function formatUnits(value: bigint, decimals: number): string {
  const negative = value < 0n;
  const digits = (negative ? -value : value).toString().padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

// Control characters (but tab and newlines), and the bidirectional overrides that can make text read as other text.
const UNSAFE_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** UTF-8 text when the bytes are valid UTF-8 without control or bidi-override characters; 0x-hex otherwise. */
export function messageContent(bytes: Uint8Array): MessageContent {
  try {
    const text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    if (!UNSAFE_TEXT.test(text) && bytes.length > 0) return { encoding: 'utf-8', text, bytes: bytes.length };
  } catch {
    // not UTF-8
  }
  return { encoding: 'hex', text: `0x${bytesToHex(bytes)}`, bytes: bytes.length };
}

/** Chains the SDK names without asking anyone: id → [name, native symbol]. */
const EVM_CHAINS: Readonly<Record<number, readonly [string, string]>> = {
  1: ['Ethereum', 'ETH'],
  10: ['OP Mainnet', 'ETH'],
  56: ['BNB Smart Chain', 'BNB'],
  100: ['Gnosis', 'xDAI'],
  137: ['Polygon', 'POL'],
  324: ['zkSync Era', 'ETH'],
  8453: ['Base', 'ETH'],
  17000: ['Holesky', 'ETH'],
  31337: ['Anvil (local)', 'ETH'],
  42161: ['Arbitrum One', 'ETH'],
  43114: ['Avalanche C-Chain', 'AVAX'],
  59144: ['Linea', 'ETH'],
  84532: ['Base Sepolia', 'ETH'],
  11155111: ['Sepolia', 'ETH'],
};

const word = (data: Uint8Array, i: number): Uint8Array => data.subarray(4 + 32 * i, 4 + 32 * (i + 1));
const uintOf = (w: Uint8Array): bigint => BigInt(`0x${bytesToHex(w)}`);
/** An ABI address word, or undefined when its top 12 bytes are not zero (then it is no valid address argument). */
const addressOf = (w: Uint8Array): string | undefined => (w.subarray(0, 12).every((b) => b === 0) ? getAddress(`0x${bytesToHex(w.subarray(12))}`) : undefined);
const MAX_UINT256 = (1n << 256n) - 1n;

/** Decodes ERC-20 transfer, transferFrom and approve calls (exact ABI length, clean address words); anything else is a contract call. */
export function decodeContractCall(to: string | null, data: Uint8Array): ContractCall {
  if (to === null) return { type: 'deploy', dataBytes: data.length };
  const selector = `0x${bytesToHex(data.subarray(0, 4))}` as Hex;
  const other: ContractCall = { type: 'contract-call', contract: to, selector, dataBytes: data.length };
  if (selector === '0xa9059cbb' || selector === '0x095ea7b3') {
    const who = addressOf(word(data, 0));
    if (data.length !== 4 + 64 || !who) return other;
    const amount = uintOf(word(data, 1));
    return selector === '0xa9059cbb'
      ? { type: 'erc20-transfer', token: to, recipient: who, amount: amount.toString() }
      : { type: 'erc20-approve', token: to, spender: who, amount: amount.toString(), unlimited: amount === MAX_UINT256 };
  }
  if (selector === '0x23b872dd') {
    const from = addressOf(word(data, 0));
    const recipient = addressOf(word(data, 1));
    if (data.length !== 4 + 96 || !from || !recipient) return other;
    return { type: 'erc20-transfer-from', token: to, from, recipient, amount: uintOf(word(data, 2)).toString() };
  }
  return other;
}

// --- the summaries ---------------------------------------------------------------

/** An EVM transaction, from its unsigned serialisation (the bytes whose keccak256 the envelope binds). */
export function summarizeEvmTransaction(serialized: Hex, signer: string): EvmTransactionSummary {
  const tx = parseTransaction(serialized);
  const chainId = tx.chainId ?? 0;
  const [name, symbol] = EVM_CHAINS[chainId] ?? [undefined, 'native coin'];
  const value = tx.value ?? 0n;
  const data = tx.data && tx.data !== '0x' ? Uint8Array.from(tx.data.slice(2).match(/../g)!, (h) => parseInt(h, 16)) : undefined;
  const to = tx.to ? getAddress(tx.to) : null;
  const type = tx.type === 'eip1559' || tx.type === 'eip2930' ? tx.type : 'legacy';
  const maxFee = (tx.type === 'eip1559' ? tx.maxFeePerGas : tx.gasPrice) ?? 0n;
  const totalFee = maxFee * (tx.gas ?? 0n);
  return {
    kind: 'evm-transaction',
    network: 'evm',
    signer,
    chain: { chainId, name },
    type,
    to,
    value: { wei: value.toString(), symbol, formatted: `${formatUnits(value, 18)} ${symbol}` },
    call: data || to === null ? decodeContractCall(to, data ?? new Uint8Array(0)) : undefined,
    nonce: tx.nonce ?? 0,
    gas: (tx.gas ?? 0n).toString(),
    maxFeePerGas: maxFee.toString(),
    maxTotalFee: { wei: totalFee.toString(), symbol, formatted: `${formatUnits(totalFee, 18)} ${symbol}` },
  };
}

/** An EIP-191 message, from the bytes personal_sign prefixes and hashes. */
export function summarizeEvmMessage(bytes: Uint8Array, signer: string): EvmMessageSummary {
  return { kind: 'evm-message', network: 'evm', signer, message: messageContent(bytes) };
}

const json = (v: unknown): string =>
  typeof v === 'string' || typeof v === 'bigint' || typeof v === 'number' || typeof v === 'boolean'
    ? String(v)
    : JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));

/** EIP-712 typed data, from the object sent to the enclave (which hashes it and compares with the envelope's digest). */
export function summarizeTypedData(
  typedData: { domain?: unknown; types?: unknown; primaryType?: unknown; message?: unknown },
  signer: string,
): EvmTypedDataSummary {
  const domain = (typedData.domain ?? {}) as Record<string, unknown>;
  const primaryType = String(typedData.primaryType ?? '');
  const types = (typedData.types ?? {}) as Record<string, Array<{ name: string; type: string }> | undefined>;
  const message = (typedData.message ?? {}) as Record<string, unknown>;
  const out: EvmTypedDataSummary['domain'] = {};
  for (const k of ['name', 'version', 'chainId', 'verifyingContract', 'salt'] as const) if (domain[k] !== undefined) out[k] = json(domain[k]);
  const fields = (types[primaryType] ?? []).map((f) => ({ name: f.name, type: f.type, value: json(message[f.name]) }));
  return { kind: 'evm-typed-data', network: 'evm', signer, domain: out, primaryType, fields };
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

/**
 * The summary as labelled lines, in the order a person should read them
 * (what the demo's PIN pad shows). Values are plain text: render them as
 * text, never as HTML.
 */
export function describeApprovalSummary(summary: ApprovalSummary): Array<{ label: string; value: string }> {
  const lines: Array<{ label: string; value: string }> = [];
  const add: AddLine = (label, value) => {
    if (value !== undefined) lines.push({ label, value });
  };
  switch (summary.kind) {
    case 'evm-transaction':
      describeEvmTransaction(summary, add);
      break;
    case 'evm-message':
      add('Action', 'Sign a message (EVM)');
      add(summary.message.encoding === 'utf-8' ? 'Message' : 'Message (hex)', summary.message.text);
      break;
    case 'evm-typed-data':
      add('Action', `Sign typed data: ${summary.primaryType}`);
      add('Domain', [summary.domain.name, summary.domain.version && `v${summary.domain.version}`].filter(Boolean).join(' ') || undefined);
      add('Chain', summary.domain.chainId);
      add('Contract', summary.domain.verifyingContract);
      for (const f of summary.fields) add(f.name, f.value);
      break;
    case 'solana-transaction':
      add('Action', 'Sign a Solana transaction');
      add('Cluster', summary.cluster ?? 'not checked (the app built the transaction)');
      add('Fee payer', summary.feePayer);
      for (const t of summary.transfers) {
        add('Transfer', `${t.formatted !== undefined ? t.formatted : t.amount}${t.symbol ? '' : ` (${t.mint ? `mint ${t.mint}` : "token's smallest unit"})`}`);
        add('From', t.from);
        add('To', t.to);
      }
      add('Programs', summary.programs.map((p) => p.name ?? p.id).join(', ') || 'none');
      if (summary.lookupTables) add('Lookup tables', `${summary.lookupTables} (accounts shown as table#index)`);
      break;
    case 'solana-message':
      add('Action', summary.offchain ? `Sign an off-chain message (v${summary.offchain.version})` : 'Sign a message (Solana)');
      add(summary.message.encoding === 'utf-8' ? 'Message' : 'Message (hex)', summary.message.text);
      break;
  }
  return lines;
}

type AddLine = (label: string, value: string | undefined) => void;

function describeEvmTransaction(summary: EvmTransactionSummary, add: AddLine): void {
  add('Action', 'Send an EVM transaction');
  add('Chain', `${summary.chain.name ?? 'chain'} (${summary.chain.chainId})`);
  const c = summary.call;
  if (c?.type === 'erc20-transfer') {
    add('Call', 'ERC-20 transfer');
    add('Token', c.token);
    add('Recipient', c.recipient);
    add('Amount', `${c.amount} (token's smallest unit)`);
  } else if (c?.type === 'erc20-transfer-from') {
    add('Call', 'ERC-20 transferFrom');
    add('Token', c.token);
    add('From', c.from);
    add('Recipient', c.recipient);
    add('Amount', `${c.amount} (token's smallest unit)`);
  } else if (c?.type === 'erc20-approve') {
    add('Call', 'ERC-20 approve');
    add('Token', c.token);
    add('Spender', c.spender);
    add('Allowance', c.unlimited ? 'UNLIMITED' : `${c.amount} (token's smallest unit)`);
  } else if (c?.type === 'deploy') {
    add('Call', `Deploy a contract (${c.dataBytes} bytes)`);
  } else {
    add('Recipient', summary.to ?? undefined);
    if (c?.type === 'contract-call') add('Call', `Contract call ${c.selector} (${c.dataBytes} bytes of data)`);
  }
  add('Value', summary.value.formatted);
  add('Max fee', summary.maxTotalFee.formatted);
}
