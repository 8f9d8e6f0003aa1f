/**
 * @enclave-wallet/client: the SDK an app uses (SPEC §9). Runs in Node 20+ and
 * in browsers: nothing here imports a Node built-in (root 'dev' reads a file
 * only when it runs in Node). viem is a peer dependency.
 */
export * from './attestation/index.js';
export { createClient, EnclaveWallet } from './sdk.js';
export {
  EnclaveWalletClient,
  personalMessageDigest,
  type Account,
  type ApiEvmTransaction,
  type Balance,
  type Chain,
  type ChainRef,
  type ClientOptions,
  type CreatedWallet,
  type Hex,
  type Network,
  type Session,
  type SignOptions,
  type User,
  type VerifiedAttestation,
  type Wallet,
} from './client.js';
export { EnclaveWalletApiError } from './errors.js';
export {
  connectWallet,
  WalletFrameError,
  type ConnectWalletOptions,
  type Eip6963ProviderInfo,
  type FrameSolanaSigner,
  type WalletConnection,
} from './frame/app.js';
export { parseOrigins } from './frame/messages.js';
export { checkRecoveryCode, RECOVERY_CODE_INFO, type Authorize, type Factor, type FactorInfo, type SignAuthorization, type SignFactor } from './factors.js';
export { passkeySupport, passkeyUserHandle, type PasskeyCredentials, type PasskeyOptions, type PasskeySupport } from './passkey.js';
export {
  dropContextAhead,
  newRecipientKey,
  openRecoveryPhrase,
  sealPinEnvelope,
  PIN_ENVELOPE_INFO,
  RECOVERY_PHRASE_INFO,
  type EnvelopeBody,
  type EnvelopePurpose,
  type SignKind,
} from './envelope.js';
export {
  BASE_FEE_MULTIPLIER,
  checkEvmLimits,
  DEFAULT_MAX_GAS,
  FEE_HISTORY_BLOCKS,
  GAS_MARGIN_PERCENT,
  NONCE_WINDOW,
  PLAIN_TRANSFER_GAS,
  type Approver,
  TIP_MULTIPLIER,
  toApiTransaction,
  type EvmLimits,
} from './evm.js';
export { ProviderRpcError, type Eip1193Provider } from './eip1193.js';
export { type RpcNodes } from './nodes.js';
export { type GetPin } from './summary.js';
export { type SolanaAddress, type SolanaSignatureBytes, type SolanaSignatureDictionary, type SolanaSigner } from './solana.js';
export { OFFCHAIN_SIGNING_DOMAIN, decodeSolanaOffchainMessage, encodeSolanaOffchainMessage, type SolanaOffchainMessage } from './solana-offchain.js';
export { isSolanaTransactionMessage } from './solana-wire.js';
export {
  decodeContractCall,
  describeApprovalSummary,
  formatUnits,
  messageContent,
  summarizeEvmMessage,
  summarizeEvmTransaction,
  summarizeSolanaMessage,
  summarizeSolanaTransaction,
  summarizeTypedData,
  type ApprovalSummary,
  type ContractCall,
  type EvmMessageSummary,
  type EvmTransactionSummary,
  type EvmTypedDataSummary,
  type MessageContent,
  type PinRequest,
  type SolanaMessageSummary,
  type SolanaTransactionSummary,
  type SolanaTransfer,
} from './summary.js';

/** The SDK's version. */
export const CLIENT_VERSION = '0.1.0';
