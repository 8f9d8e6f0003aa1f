/**
 * Recovery through the SDK, as an app uses it (docs/recovery.md): createWallet returns the recovery code once;
 * wrong PINs lock the wallet; resetPin with the code sets a new PIN (a typo refused by the SDK, nothing sent);
 * signing works with the new PIN; the old PIN, the used code and the pre-reset blob put back all fail;
 * newRecoveryCode and listFactors; importWallet returns a code too. The host's logs and table never hold a code.
 */
import { GetItemCommand, PutItemCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { verifyMessage, type Address } from 'viem';
import { checkRecoveryCode, createClient, EnclaveWalletApiError, type EnclaveWallet } from '@enclave-wallet/client';
import { readDevRoot } from '../../devtools/src/nsm/index.js';
import { startStack, type Stack } from '../support/stack.js';

const CODE = /^([0-9A-HJKMNP-TV-Z]{4}-){6}[0-9A-HJKMNP-TV-Z]{4}$/;
const TABLE = 'enclave-wallet-test';
let stack: Stack;
let client: EnclaveWallet;
const requests: Array<{ url: string; body: string }> = [];

beforeAll(async () => {
  stack = await startStack();
  // Every request the SDK sends, to check that a typo sends nothing.
  const recording: typeof fetch = (input, init) => {
    requests.push({ url: String(input), body: typeof init?.body === 'string' ? init.body : '' });
    return fetch(input, init);
  };
  client = createClient({ baseUrl: stack.url, root: readDevRoot(stack.caDir), fetch: recording });
  await client.login(await stack.issuer.sign({ email: 'sdk-recovery@example.com' }));
}, 60_000);
afterAll(async () => {
  await stack.close();
});

const errorOf = (p: Promise<unknown>): Promise<EnclaveWalletApiError> =>
  p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => {
      if (!(e instanceof EnclaveWalletApiError)) throw e;
      return e;
    },
  );
/** A typo in one character, which the checksum catches. */
const typo = (code: string): string => code.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));

test('create → lock → reset with the code → sign; old PIN, old code and the old blob fail; the host never holds a code', async () => {
  const created = await client.createWallet('493817');
  const code = created.recoveryCode;
  expect(code).toMatch(CODE);
  // Shown once: not in the wallet saved as JSON, not in what getWallet answers.
  expect(JSON.stringify(created)).not.toContain(code);
  expect(await client.getWallet(created.walletId)).toEqual(created);
  const { walletId } = created;
  const address = created.accounts.find((a) => a.network === 'evm')!.address as Address;
  expect((await client.listFactors(walletId)).map((f) => f.kind)).toEqual(['pin', 'recovery-code']);

  for (let i = 0; i < 5; i++) await errorOf(client.signEvmMessage(walletId, 'x', { pin: `20000${i}` }));
  expect((await errorOf(client.signEvmMessage(walletId, 'x', { pin: '493817' }))).code).toBe('PIN_LOCKED');

  // A typo: a typed SDK error, and nothing sent.
  const sent = requests.length;
  const bad = await errorOf(client.resetPin(walletId, typo(code), '270394'));
  expect(bad).toMatchObject({ code: 'RECOVERY_CODE_INVALID', status: 0 });
  expect(bad.message).toMatch(/typo/);
  expect((await errorOf(client.resetPin(walletId, code.slice(0, -1), '270394'))).code).toBe('RECOVERY_CODE_INVALID');
  expect((await errorOf(client.resetPin(walletId, `${code}U`, '270394'))).code).toBe('RECOVERY_CODE_INVALID');
  expect(requests.length).toBe(sent);

  const key = { pk: { S: `USER#${client.session!.user.id}` }, sk: { S: `WALLET#${walletId}` } };
  const before = (await stack.aws.dynamo.send(new GetItemCommand({ TableName: TABLE, Key: key, ConsistentRead: true }))).Item as Record<string, AttributeValue>;
  expect(before.sealedBlob?.B).toBeDefined();

  // As typed by a person: lowercase, spaces. The lock-out ends; the new code differs.
  const newCode = await client.resetPin(walletId, code.toLowerCase().replaceAll('-', ' '), '270394');
  expect(newCode).toMatch(CODE);
  expect(newCode).not.toBe(code);
  const signature = await client.signEvmMessage(walletId, 'after the reset', { pin: '270394' });
  expect(await verifyMessage({ address, message: 'after the reset', signature })).toBe(true);
  expect((await errorOf(client.signEvmMessage(walletId, 'x', { pin: '493817' }))).code).toBe('PIN_INVALID');
  const wrong = await errorOf(client.resetPin(walletId, code, '615243'));
  expect(wrong).toMatchObject({ code: 'RECOVERY_CODE_WRONG', attemptsLeft: 4 });

  // The pre-reset blob put back in the host's table: the guard's current one is opened instead.
  await stack.aws.dynamo.send(new PutItemCommand({ TableName: TABLE, Item: before }));
  expect((await errorOf(client.signEvmMessage(walletId, 'x', { pin: '493817' }))).code).toBe('PIN_INVALID');
  expect((await errorOf(client.resetPin(walletId, code, '615243'))).code).toBe('RECOVERY_CODE_WRONG');
  await client.signEvmMessage(walletId, 'old blob, new PIN', { pin: '270394' });

  // A new code with the PIN: the one before stops working, the newest resets.
  const third = await client.newRecoveryCode(walletId, '270394');
  expect(third).toMatch(CODE);
  expect((await errorOf(client.resetPin(walletId, newCode, '615243'))).code).toBe('RECOVERY_CODE_WRONG');
  expect((await errorOf(client.newRecoveryCode(walletId, '000000'))).code).toBe('PIN_INVALID');
  const fourth = await client.resetPin(walletId, third, '615243');
  await client.signEvmMessage(walletId, 'third PIN', { pin: '615243' });

  const factors = await client.listFactors(walletId);
  expect(factors.map((f) => f.kind)).toEqual(['pin', 'recovery-code']);
  for (const f of factors) expect(Object.keys(f).sort()).toEqual(['createdAt', 'kind', 'lastUsedAt']);

  // No code, in any form, in the host's logs or its table, nor in clear in anything the SDK sent.
  const table = JSON.stringify(await stack.aws.dynamo.send(new ScanCommand({ TableName: TABLE })));
  for (const c of [code, newCode, third, fourth]) {
    for (const form of [c, c.replaceAll('-', ''), c.toLowerCase(), c.toLowerCase().replaceAll('-', ' ')]) {
      expect(stack.logLines.join('\n')).not.toContain(form);
      expect(table).not.toContain(form);
      for (const r of requests) expect(r.body).not.toContain(form);
    }
  }
}, 180_000);

test('importWallet returns a recovery code too; checkRecoveryCode writes a typed code out', async () => {
  const source = await client.createWallet('493817');
  const mnemonic = await client.exportRecoveryPhrase(source.walletId, '493817');
  const imported = await client.importWallet(mnemonic, '518274');
  expect(imported.recoveryCode).toMatch(CODE);
  expect(imported.recoveryCode).not.toBe(source.recoveryCode);
  expect(imported.accounts.map((a) => a.address)).toEqual(source.accounts.map((a) => a.address));
  expect(await client.resetPin(imported.walletId, imported.recoveryCode, '739106')).toMatch(CODE);
  await client.signEvmMessage(imported.walletId, 'imported', { pin: '739106' });

  expect(checkRecoveryCode(source.recoveryCode.toLowerCase().replaceAll('0', 'o').replaceAll('-', ''))).toBe(source.recoveryCode);
  expect(() => checkRecoveryCode(typo(source.recoveryCode))).toThrow(expect.objectContaining({ code: 'RECOVERY_CODE_INVALID' }));
}, 120_000);
