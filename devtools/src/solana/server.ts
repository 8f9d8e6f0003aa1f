/**
 * A local Solana JSON-RPC endpoint over LiteSVM (the real Solana VM, from
 * npm): the part of the RPC API the wallet service and its tests use, with the
 * answers shaped as a validator's. Transactions are executed (signatures
 * verified, programs run, fees charged) when they arrive, so "sent" means
 * "finalized". A development stand-in: never deploy it.
 *
 * Methods: getHealth, getVersion, getSlot, getBlockHeight, getGenesisHash,
 * getBalance, getAccountInfo, getTokenAccountsByOwner, getLatestBlockhash,
 * isBlockhashValid, getMinimumBalanceForRentExemption, getSignatureStatuses,
 * sendTransaction, simulateTransaction, requestAirdrop.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { FailedTransactionMetadata, LiteSVM, TransactionMetadata } from 'litesvm';
import {
  address,
  getBase58Decoder,
  getBase58Encoder,
  getBase64Encoder,
  getCompiledTransactionMessageDecoder,
  getTransactionDecoder,
  lamports,
  type Address,
  type Signature,
} from '@solana/kit';

/** The SPL Token program, whose accounts getTokenAccountsByOwner looks through. */
export const TOKEN_PROGRAM = address('TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA');
const TOKEN_ACCOUNT_BYTES = 165;

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export interface LocalSolanaOptions {
  /** Where the ledger is kept between runs (a LiteSVM snapshot); none = in memory only. */
  stateFile?: string;
  /** Browser origins allowed to call it (CORS), e.g. the local host's demo page. */
  corsOrigins?: string[];
}

export class LocalSolana {
  readonly svm: LiteSVM;
  private server: Server | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private readonly statuses = new Map<string, { slot: number; err: string | null }>();

  /**
   * The blockhashes a transaction may name, newest last, as a validator keeps its last 150. This node makes its own
   * (random, so that two of its instances are two clusters that never share one) and checks a transaction's against
   * them itself: LiteSVM's own check accepts only its latest, which moves only when told to, and every fresh LiteSVM
   * starts from the same one. A new one after every transaction that lands (and the slot with it), so that the same
   * transfer made twice is two transactions, not one already processed.
   */
  private readonly recent: string[] = [newBlockhash()];

  constructor(private readonly options: LocalSolanaOptions = {}) {
    const svm = options.stateFile && existsSync(options.stateFile) ? LiteSVM.loadFromFile(options.stateFile) : new LiteSVM();
    this.svm = svm.withBlockhashCheck(false);
  }

  /** The blockhash getLatestBlockhash answers now. */
  get latestBlockhash(): string {
    return this.recent[this.recent.length - 1]!;
  }

  /** After a transaction landed: a new slot and a new latest blockhash, the oldest of 150 forgotten. */
  private advance(): void {
    // LiteSVM's own too: its airdrops are transactions on it, and the same airdrop twice would be one.
    this.svm.expireBlockhash();
    this.svm.warpToSlot(this.svm.getClock().slot + 1n);
    this.recent.push(newBlockhash());
    if (this.recent.length > RECENT_BLOCKHASHES) this.recent.shift();
  }

  private get slot(): number {
    return Number(this.svm.getClock().slot);
  }

  private context<T>(value: T): { context: { slot: number; apiVersion: string }; value: T } {
    return { context: { slot: this.slot, apiVersion: '2.2.0' }, value };
  }

  /** One JSON-RPC method call. */
  call(method: string, params: unknown[]): unknown {
    const str = (i: number): string => {
      const v = params[i];
      if (typeof v !== 'string') throw new RpcError(-32602, `Invalid params: parameter ${i} must be a string`);
      return v;
    };
    const addr = (i: number): Address => {
      try {
        return address(str(i));
      } catch {
        throw new RpcError(-32602, 'Invalid param: Invalid');
      }
    };
    switch (method) {
      case 'getHealth':
        return 'ok';
      case 'getVersion':
        return { 'solana-core': '2.2.0-litesvm', 'feature-set': 0 };
      case 'getSlot':
      case 'getBlockHeight':
        return this.slot;
      case 'getGenesisHash':
        return '11111111111111111111111111111111';
      case 'getBalance':
        return this.context(Number(this.svm.getBalance(addr(0)) ?? 0n));
      case 'getAccountInfo': {
        const account = this.svm.getAccount(addr(0));
        return this.context(account.exists ? this.encodeAccount(account) : null);
      }
      case 'getMinimumBalanceForRentExemption':
        return Number(this.svm.minimumBalanceForRentExemption(BigInt(Number(params[0] ?? 0))));
      case 'getLatestBlockhash':
        return this.context({ blockhash: this.latestBlockhash, lastValidBlockHeight: this.slot + 150 });
      case 'isBlockhashValid':
        return this.context(this.recent.includes(str(0)));
      case 'getTokenAccountsByOwner':
        return this.context(this.tokenAccounts(addr(0), (params[1] ?? {}) as { mint?: string; programId?: string }));
      case 'getSignatureStatuses': {
        const list = Array.isArray(params[0]) ? (params[0] as unknown[]) : [];
        return this.context(
          list.map((s) => {
            const st = typeof s === 'string' ? this.statuses.get(s) : undefined;
            return st
              ? { slot: st.slot, confirmations: null, err: st.err, status: st.err ? { Err: st.err } : { Ok: null }, confirmationStatus: 'finalized' }
              : null;
          }),
        );
      }
      case 'requestAirdrop': {
        const to = addr(0);
        const amount = Number(params[1]);
        if (!Number.isSafeInteger(amount) || amount <= 0) throw new RpcError(-32602, 'Invalid params: lamports');
        const result = this.svm.airdrop(to, lamports(BigInt(amount)));
        if (!(result instanceof TransactionMetadata)) throw new RpcError(-32603, `airdrop failed: ${errorName(result?.err())}`);
        const signature = getBase58Decoder().decode(result.signature());
        this.statuses.set(signature, { slot: this.slot, err: null });
        this.advance();
        this.changed();
        return signature;
      }
      case 'sendTransaction':
      case 'simulateTransaction': {
        const config = (params[1] ?? {}) as { encoding?: string };
        const bytes = config.encoding === 'base64' ? getBase64Encoder().encode(str(0)) : getBase58Encoder().encode(str(0));
        let tx;
        try {
          tx = getTransactionDecoder().decode(bytes);
        } catch {
          throw new RpcError(-32602, 'invalid transaction: failed to deserialize');
        }
        const signature = getBase58Decoder().decode(tx.signatures[Object.keys(tx.signatures)[0]! as Address] ?? new Uint8Array(64)) as Signature;
        let blockhash: string;
        try {
          blockhash = getCompiledTransactionMessageDecoder().decode(tx.messageBytes).lifetimeToken;
        } catch {
          throw new RpcError(-32602, 'invalid transaction: failed to deserialize');
        }
        // As a validator's preflight answers a blockhash it does not hold (too old, or never its own).
        if (!this.recent.includes(blockhash))
          throw new RpcError(-32002, 'Transaction simulation failed: Blockhash not found', { err: 'BlockhashNotFound', logs: [] });
        if (method === 'simulateTransaction') {
          const sim = this.svm.simulateTransaction(tx);
          if (sim instanceof FailedTransactionMetadata)
            return this.context({ err: errorName(sim.err()), logs: sim.meta().logs(), unitsConsumed: Number(sim.meta().computeUnitsConsumed()) });
          return this.context({ err: null, logs: sim.meta().logs(), unitsConsumed: Number(sim.meta().computeUnitsConsumed()) });
        }
        const result = this.svm.sendTransaction(tx);
        if (result instanceof FailedTransactionMetadata) {
          // As a validator's preflight answers: -32002 with the error and the logs.
          throw new RpcError(-32002, `Transaction simulation failed: ${describe(result)}`, { err: errorName(result.err()), logs: result.meta().logs() });
        }
        this.statuses.set(signature, { slot: this.slot, err: null });
        this.advance();
        this.changed();
        return signature;
      }
      default:
        throw new RpcError(-32601, 'Method not found');
    }
  }

  private encodeAccount(account: { lamports: bigint; programAddress: Address; executable: boolean; data: ArrayLike<number> & { length: number } }) {
    return {
      data: [Buffer.from(Uint8Array.from(account.data)).toString('base64'), 'base64'],
      executable: account.executable,
      lamports: Number(account.lamports),
      owner: account.programAddress,
      rentEpoch: 0,
      space: account.data.length,
    };
  }

  /** SPL token accounts of `owner` (by mint or by program), encoded base64 as a validator does. */
  private tokenAccounts(owner: Address, filter: { mint?: string; programId?: string }) {
    if (!filter.mint && !filter.programId) throw new RpcError(-32602, 'Invalid params: expected mint or programId');
    if (filter.programId && filter.programId !== TOKEN_PROGRAM) return [];
    const ownerBytes = getBase58Encoder().encode(owner);
    const mintBytes = filter.mint ? getBase58Encoder().encode(address(filter.mint)) : undefined;
    return this.svm
      .getProgramAccounts(TOKEN_PROGRAM)
      .filter(
        (a) =>
          a.data.length === TOKEN_ACCOUNT_BYTES &&
          Buffer.from(a.data.subarray(32, 64)).equals(Buffer.from(ownerBytes)) &&
          (!mintBytes || Buffer.from(a.data.subarray(0, 32)).equals(Buffer.from(mintBytes))),
      )
      .map((a) => ({ pubkey: a.address, account: this.encodeAccount(a) }));
  }

  /** Saves the ledger a moment after it changed (when a state file is set). */
  private changed(): void {
    if (!this.options.stateFile || this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.save();
    }, 1000);
    this.saveTimer.unref();
  }

  save(): void {
    const file = this.options.stateFile;
    if (!file) return;
    mkdirSync(dirname(file), { recursive: true });
    this.svm.saveToFile(`${file}.tmp`);
    renameSync(`${file}.tmp`, file);
  }

  async listen(port: number, host = '127.0.0.1'): Promise<{ url: string; server: Server }> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, resolve);
    });
    this.server = server;
    const a = server.address();
    return { url: `http://${host}:${typeof a === 'object' && a ? a.port : port}`, server };
  }

  async close(): Promise<void> {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    this.save();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = typeof req.headers.origin === 'string' && this.options.corsOrigins?.includes(req.headers.origin) ? req.headers.origin : undefined;
    if (origin) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'Origin');
    }
    if (req.method === 'OPTIONS') {
      // CORS preflight, answered only for the allowed origins.
      res
        .writeHead(
          origin ? 204 : 403,
          origin ? { 'access-control-allow-methods': 'POST', 'access-control-allow-headers': 'content-type', 'access-control-max-age': '600' } : {},
        )
        .end();
      return;
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > 1024 * 1024) {
        res.writeHead(413).end();
        return;
      }
      chunks.push(chunk as Buffer);
    }
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      this.send(res, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
      return;
    }
    const one = (r: unknown): unknown => {
      const { id = null, method, params = [] } = (r ?? {}) as { id?: unknown; method?: unknown; params?: unknown };
      if (typeof method !== 'string' || !Array.isArray(params)) return { jsonrpc: '2.0', id, error: { code: -32600, message: 'Invalid request' } };
      try {
        return { jsonrpc: '2.0', id, result: this.call(method, params) };
      } catch (err) {
        if (err instanceof RpcError) return { jsonrpc: '2.0', id, error: { code: err.code, message: err.message, ...(err.data ? { data: err.data } : {}) } };
        return { jsonrpc: '2.0', id, error: { code: -32603, message: `Internal error: ${(err as Error).message}` } };
      }
    };
    this.send(res, Array.isArray(body) ? body.map(one) : one(body));
  }

  private send(res: ServerResponse, payload: unknown): void {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
  }
}

/** A failed transaction as a validator words it: the instruction error and the program's own last log line. */
function describe(result: FailedTransactionMetadata): string {
  const logs = result.meta().logs();
  const reason = [...logs].reverse().find((l) => !/^Program \w+ (invoke|consumed|failed)/.test(l));
  return `${errorName(result.err())}${reason ? `; ${reason}` : ''}`;
}

/** How many blockhashes a transaction may name (a validator's 150 slots). */
const RECENT_BLOCKHASHES = 150;

/** A blockhash of this node's own: 32 random bytes in base58. */
function newBlockhash(): string {
  return getBase58Decoder().decode(randomBytes(32));
}

/** LiteSVM's transaction errors without fields are numbers (its `TransactionErrorFieldless`, a const enum): by name, as a validator says them. */
const FIELDLESS_ERRORS = [
  'AccountInUse',
  'AccountLoadedTwice',
  'AccountNotFound',
  'ProgramAccountNotFound',
  'InsufficientFundsForFee',
  'InvalidAccountForFee',
  'AlreadyProcessed',
  'BlockhashNotFound',
  'CallChainTooDeep',
  'MissingSignatureForFee',
  'InvalidAccountIndex',
  'SignatureFailure',
  'InvalidProgramForExecution',
  'SanitizeFailure',
  'ClusterMaintenance',
  'AccountBorrowOutstanding',
  'WouldExceedMaxBlockCostLimit',
  'UnsupportedVersion',
  'InvalidWritableAccount',
  'WouldExceedMaxAccountCostLimit',
  'WouldExceedAccountDataBlockLimit',
  'TooManyAccountLocks',
  'AddressLookupTableNotFound',
  'InvalidAddressLookupTableOwner',
  'InvalidAddressLookupTableData',
  'InvalidAddressLookupTableIndex',
  'InvalidRentPayingAccount',
  'WouldExceedMaxVoteCostLimit',
  'WouldExceedAccountDataTotalLimit',
  'MaxLoadedAccountsDataSizeExceeded',
  'ResanitizationNeeded',
  'InvalidLoadedAccountsDataSizeLimit',
  'UnbalancedTransaction',
  'ProgramCacheHitMaxLimit',
  'CommitCancelled',
];

function errorName(err: unknown): string {
  return typeof err === 'number' ? (FIELDLESS_ERRORS[err] ?? String(err)) : String(err);
}
