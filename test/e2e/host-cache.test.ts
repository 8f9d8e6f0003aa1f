/**
 * The host's wallet cache (docs/storage.md#the-hosts-wallet-cache) with two
 * hosts on one table and one enclave, as two instances behind a load
 * balancer: signing through a host answers from the record it already holds
 * (no table read), and stays right when the other host changed the wallet
 * meanwhile (a new PIN, a new account). Signatures are checked with viem;
 * table reads are counted on the DynamoDB client.
 */
import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { verifyMessage, type Address } from 'viem';
import { createClient, EnclaveWalletApiError, type EnclaveWallet, type Wallet } from '@enclave-wallet/client';
import { Wallets } from '@enclave-wallet/host';
import { readDevRoot } from '../../devtools/src/nsm/index.js';
import { startStack, type Stack } from '../support/stack.js';
import { parseUserId as uid, parseWalletId as wid } from '@enclave-wallet/proto/ids';

let stack: Stack;
let viaA: EnclaveWallet;
let viaB: EnclaveWallet;
let wallet: Wallet;
let evm: Address;
let reads = 0;
const PIN = '493817';

/** Counts the wallet-record reads (GetItem of `WALLET#…`; not the session checks) every host of the stack makes from now on. */
function countReads(db: DynamoDBClient): void {
  db.middlewareStack.add(
    (next, context) => async (args) => {
      const key = (args.input as { Key?: { sk?: { S?: string } } }).Key;
      if (context.commandName === 'GetItemCommand' && key?.sk?.S?.startsWith('WALLET#')) reads++;
      return next(args);
    },
    { step: 'initialize', name: 'countReads' },
  );
}
const codeOf = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'OK',
    (e: unknown) => (e instanceof EnclaveWalletApiError ? e.code : String(e)),
  );

beforeAll(async () => {
  stack = await startStack({ walletCacheMs: 60_000 });
  const other = await stack.addHost();
  const root = readDevRoot(stack.caDir);
  viaA = createClient({ baseUrl: stack.url, root });
  viaB = createClient({ baseUrl: other.url, root });
  await viaA.login(await stack.issuer.sign({ email: 'cache@example.com' }));
  await viaB.login(await stack.issuer.sign({ email: 'cache@example.com' }));
  wallet = await viaA.createWallet(PIN);
  evm = wallet.accounts.find((a) => a.network === 'evm')!.address as Address;
  countReads(stack.store.db);
}, 60_000);
afterAll(async () => {
  await stack.close();
});

test('a host signs from the wallet record it holds: no table read per signature', async () => {
  reads = 0;
  for (const text of ['one', 'two', 'three']) {
    const signature = await viaA.signEvmMessage(wallet.walletId, text, { pin: PIN });
    expect(await verifyMessage({ address: evm, message: text, signature })).toBe(true);
  }
  expect(reads).toBe(0);
  // The other host has not seen the wallet: one read (the SDK there asks for the account's address once), then
  // signing through that host answers from the record that read brought in.
  await viaB.signEvmMessage(wallet.walletId, 'four', { pin: PIN });
  expect(reads).toBe(1);
  await viaB.signEvmMessage(wallet.walletId, 'five', { pin: PIN });
  expect(reads).toBe(1);
});

test('a PIN changed through the other host: the stale host signs with the new PIN only, and the stored blob is not rolled back', async () => {
  await viaB.changePin(wallet.walletId, PIN, '270394');
  const stored = await storedRecord();
  expect(stored.version).toBeGreaterThan(1);
  // Host A still holds the record with the blob sealed under the old PIN.
  expect(await codeOf(viaA.signEvmMessage(wallet.walletId, 'old', { pin: PIN }))).toBe('PIN_INVALID');
  const signature = await viaA.signEvmMessage(wallet.walletId, 'new', { pin: '270394' });
  expect(await verifyMessage({ address: evm, message: 'new', signature })).toBe(true);
  const after = await storedRecord();
  expect(after.version).toBe(stored.version);
  expect(Buffer.from(after.sealedBlob).equals(Buffer.from(stored.sealedBlob))).toBe(true);
});

test('an account derived through the other host: the stale host reads the record again and signs with it', async () => {
  const account = await viaB.deriveAccount(wallet.walletId, 'evm', 3, '270394');
  reads = 0;
  const signature = await viaA.signEvmMessage(wallet.walletId, 'index 3', { pin: '270394', address: account.address });
  expect(await verifyMessage({ address: account.address as Address, message: 'index 3', signature })).toBe(true);
  expect(reads).toBe(1);
  // An address the wallet does not have is still ACCOUNT_NOT_FOUND, after one more read.
  expect(await codeOf(viaA.signEvmMessage(wallet.walletId, 'x', { pin: '270394', address: '0x000000000000000000000000000000000000dEaD' }))).toBe(
    'ACCOUNT_NOT_FOUND',
  );
});

test('a cached record answers only within its lifetime, and a lost conditional write drops it', async () => {
  let now = 1_000_000;
  const wallets = new Wallets(stack.store, () => now);
  const userId = (await storedRecord()).userId;
  const first = await wallets.recent(uid(userId), wid(wallet.walletId));
  reads = 0;
  expect(await wallets.recent(uid(userId), wid(wallet.walletId))).toEqual(first);
  now += 59_999;
  await wallets.recent(uid(userId), wid(wallet.walletId));
  expect(reads).toBe(0);
  now += 1;
  await wallets.recent(uid(userId), wid(wallet.walletId));
  expect(reads).toBe(1);
  // Another writer moves the version on; this cache's write loses and forgets the record.
  await stack.store.wallets.update((await stack.store.wallets.get(uid(userId), wid(wallet.walletId)))!, first!.sealedBlob);
  await expect(wallets.update(first!, first!.sealedBlob)).rejects.toMatchObject({ code: 'WALLET_CONFLICT' });
  reads = 0;
  expect((await wallets.recent(uid(userId), wid(wallet.walletId)))!.version).toBe(first!.version + 1);
  expect(reads).toBe(1);
});

/** The wallet's item as the table holds it (a consistent read). */
async function storedRecord() {
  const out = await stack.store.db.send(
    new GetItemCommand({
      TableName: stack.store.tableName,
      Key: { pk: { S: `USER#${viaA.session!.user.id}` }, sk: { S: `WALLET#${wallet.walletId}` } },
      ConsistentRead: true,
    }),
  );
  return {
    userId: out.Item!.userId!.S!,
    version: Number(out.Item!.version!.N),
    sealedBlob: out.Item!.sealedBlob!.B!,
  };
}
