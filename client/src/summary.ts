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
import type { SignKind } from './envelope.js';
import type { EvmMessageSummary, EvmTransactionSummary, EvmTypedDataSummary } from './summary/evm.js';
import type { SolanaMessageSummary, SolanaTransactionSummary } from './summary/solana.js';

export { describeApprovalSummary } from './summary/describe.js';
export { decodeContractCall, summarizeEvmMessage, summarizeEvmTransaction, summarizeTypedData } from './summary/evm.js';
export type { ContractCall, EvmMessageSummary, EvmTransactionSummary, EvmTypedDataSummary } from './summary/evm.js';
export { summarizeSolanaMessage, summarizeSolanaTransaction } from './summary/solana.js';
export type { SolanaMessageSummary, SolanaTransactionSummary, SolanaTransfer } from './summary/solana.js';
export { formatUnits, messageContent, type MessageContent } from './summary/values.js';

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
