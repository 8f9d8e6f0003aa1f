#!/usr/bin/env node
// `npm run drill:restore`: the backup-and-restore drill of docs/operations.md, played on a local stack.
// It starts the stack (scripts/start.mjs, no chains) on DATA_DIR (default: a new folder under the system's
// temporary directory) and on free ports (or HOST_PORT, ENCLAVE_PORT, LOCAL_KMS_PORT, DYNAMODB_PORT,
// DEV_ISSUER_PORT, FRAME_PORT), creates a wallet, and then, with the stack stopped each time the tables are touched (as
// production stops its hosts for a restore):
//   1. backs up both tables together (a consistent export of the wallet table and the guard table to
//      DATA_DIR/backups/<name>/, standing for DynamoDB point-in-time recovery to one timestamp);
//   2. damages the wallet table (the wallet's record deleted): the user has no wallet;
//   3. restores both tables from the same backup: the wallet signs again;
//   4. shows why the guard table is never restored alone: rolled back to before five wrong PINs, the lock-out
//      and the counted guesses are forgotten; rolled back to before a PIN change, the wallet is refused with the
//      current record, and the old PIN works again with the old record a host kept;
//   5. shows a wallet refused once its guard item is gone, though its record is intact;
//   6. restores both tables from one backup again: the current PIN signs.
// Every outcome is checked; the exit code is 0 only if each is as docs/operations.md says. The stack is
// stopped at the end; the data folder is kept (its path is printed). Run after `npm run build`.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.mjs';
import { hashMessage, verifyMessage } from 'viem';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
// Node 20 here: the AWS SDK's notice about its 2027 releases would interrupt the drill's output (as in the launcher).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { sealPinEnvelope, verifyAttestationDocument } = await import('../client/dist/index.js');
const { LOCAL_GUARD_TABLE } = await import('../devtools/dist/index.js');
const { DynamoDBClient, ScanCommand, BatchWriteItemCommand, DescribeTableCommand } = await import('@aws-sdk/client-dynamodb');

const ports = {
  HOST_PORT: process.env.HOST_PORT ?? String(await freePort()),
  ENCLAVE_PORT: process.env.ENCLAVE_PORT ?? String(await freePort()),
  LOCAL_KMS_PORT: process.env.LOCAL_KMS_PORT ?? String(await freePort()),
  DYNAMODB_PORT: process.env.DYNAMODB_PORT ?? String(await freePort()),
  DEV_ISSUER_PORT: process.env.DEV_ISSUER_PORT ?? String(await freePort()),
  FRAME_PORT: process.env.FRAME_PORT ?? String(await freePort()),
};
const dataDir = resolve(process.env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'enclave-wallet-drill-')));
const walletTable = process.env.DYNAMODB_TABLE ?? 'enclave-wallet';
const guardTable = LOCAL_GUARD_TABLE;
const API = `http://127.0.0.1:${ports.HOST_PORT}`;
const ISSUER = `http://127.0.0.1:${ports.DEV_ISSUER_PORT}`;
const PIN = '493817';
const NEW_PIN = '720594';
const WRONG_PIN = '111999';

let step = 0;
let failures = 0;
const say = (title) => console.log(`\n${++step}. ${title}`);
const check = (ok, line) => {
  console.log(`   ${ok ? '✓' : '✗'} ${line}`);
  if (!ok) failures++;
};
const note = (line) => console.log(`   ${line}`);

// --- the processes ---------------------------------------------------------------------------------------
const childEnv = () => {
  const env = { ...process.env, ...ports, DATA_DIR: dataDir, LOCAL_CHAIN: '0', SHUTDOWN_TIMEOUT_MS: '3000', LOG_LEVEL: 'warn' };
  for (const k of ['ENCLAVE_LISTEN', 'ENCLAVE_ADDRESS', 'HOST_PUBLIC_URL', 'npm_lifecycle_event']) delete env[k];
  return env;
};
const portOpen = (port) =>
  new Promise((res) => {
    const s = connect(Number(port), '127.0.0.1');
    s.once('connect', () => (s.destroy(), res(true)));
    s.once('error', () => res(false));
  });
async function waitUntil(what, test, ms = 90_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await test()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}
/** Starts a process in its own group; resolves to a stop function (SIGTERM, then SIGKILL after 15 s). */
function start(args, env, label) {
  const proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let log = '';
  proc.stderr.on('data', (d) => (log = (log + d.toString()).slice(-4000)));
  const exited = new Promise((r) => proc.once('exit', r));
  return {
    proc,
    log: () => log,
    exited,
    stop: async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      proc.stderr.destroy();
    },
    label,
  };
}
let running;
async function stackUp() {
  running = start([join(root, 'scripts/start.mjs')], childEnv(), 'stack');
  await waitUntil('the stack', async () => {
    if (running.proc.exitCode !== null) throw new Error(`the stack did not start:\n${running.log()}`);
    return fetch(`${API}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
  });
}
async function stackDown() {
  await running?.stop();
  running = undefined;
  await waitUntil('the ports to be free', async () => !(await portOpen(ports.HOST_PORT)) && !(await portOpen(ports.DYNAMODB_PORT)), 20_000);
}
/** The store alone (dynalite on the stack's data), for the operator's table work while nothing else runs. */
async function withTables(fn) {
  const env = { ...childEnv(), DYNAMODB_DATA_DIR: join(dataDir, 'dynamodb') };
  const store = start([join(root, 'devtools/dist/dynamo/main.js')], env, 'dynamodb');
  await waitUntil('the store', () => portOpen(ports.DYNAMODB_PORT), 20_000);
  const db = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${ports.DYNAMODB_PORT}`,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    return await fn(db);
  } finally {
    db.destroy();
    await store.stop();
    await waitUntil('the store to stop', async () => !(await portOpen(ports.DYNAMODB_PORT)), 20_000);
  }
}

// --- backup and restore of a table (DynamoDB JSON; binary values as base64) ------------------------------
const toJson = (v) =>
  v instanceof Uint8Array
    ? { $b64: Buffer.from(v).toString('base64') }
    : Array.isArray(v)
      ? v.map(toJson)
      : v && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]))
        : v;
const fromJson = (v) =>
  v && typeof v === 'object' && !Array.isArray(v) && typeof v.$b64 === 'string'
    ? new Uint8Array(Buffer.from(v.$b64, 'base64'))
    : Array.isArray(v)
      ? v.map(fromJson)
      : v && typeof v === 'object'
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fromJson(x)]))
        : v;
async function scanAll(db, table) {
  const items = [];
  let start;
  do {
    const page = await db.send(new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}
async function batchWrite(db, table, requests) {
  for (let i = 0; i < requests.length; i += 25) {
    let pending = { [table]: requests.slice(i, i + 25) };
    while (pending && Object.keys(pending).length) {
      const out = await db.send(new BatchWriteItemCommand({ RequestItems: pending }));
      pending = out.UnprocessedItems;
    }
  }
}
/** Both tables, in one step while nothing writes: the local stand-in for point-in-time recovery to one timestamp. */
async function backup(name) {
  const dir = join(dataDir, 'backups', name);
  mkdirSync(dir, { recursive: true });
  const counts = await withTables(async (db) => {
    const out = {};
    for (const table of [walletTable, guardTable]) {
      const items = await scanAll(db, table);
      writeFileSync(join(dir, `${table}.json`), JSON.stringify(toJson(items)));
      out[table] = items.length;
    }
    return out;
  });
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ takenAt: new Date().toISOString(), tables: counts }, null, 2) + '\n');
  return { dir, counts };
}
/** Puts a table back as the backup has it: items not in the backup deleted, every backed-up item written. */
async function restoreTable(db, name, table) {
  const items = fromJson(JSON.parse(readFileSync(join(dataDir, 'backups', name, `${table}.json`), 'utf8')));
  const keyNames = (await db.send(new DescribeTableCommand({ TableName: table }))).Table.KeySchema.map((k) => k.AttributeName);
  const keyOf = (item) => Object.fromEntries(keyNames.map((k) => [k, item[k]]));
  const wanted = new Set(items.map((i) => JSON.stringify(toJson(keyOf(i)))));
  const stale = (await scanAll(db, table)).filter((i) => !wanted.has(JSON.stringify(toJson(keyOf(i)))));
  await batchWrite(db, table, [...stale.map((i) => ({ DeleteRequest: { Key: keyOf(i) } })), ...items.map((i) => ({ PutRequest: { Item: i } }))]);
  return items.length;
}
const restore = (name, tables) => withTables(async (db) => Promise.all(tables.map((t) => restoreTable(db, name, t))));

// --- the API, as an app uses it --------------------------------------------------------------------------
async function call(method, path, body, token) {
  const res = await fetch(API + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : {} };
}
const email = `drill-${randomBytes(3).toString('hex')}@example.com`;
let session;
let walletId;
let address;
async function login() {
  const { id_token } = await (await fetch(`${ISSUER}/token`, { method: 'POST', body: JSON.stringify({ email }) })).json();
  session = (await call('POST', '/v1/auth/login', { idToken: id_token })).json;
  if (!session.accessToken) throw new Error(`login failed: ${JSON.stringify(session)}`);
}
async function envelope(body) {
  const nonce = randomBytes(32);
  const att = (await call('GET', `/v1/enclave/attestation?nonce=${nonce.toString('hex')}`)).json;
  const doc = verifyAttestationDocument(Buffer.from(att.document, 'base64'), {
    root: new Uint8Array(readFileSync(join(dataDir, 'dev-ca', 'root.der'))),
    expectedNonce: nonce,
    policy: 'inspect',
  });
  return sealPinEnvelope(doc.publicKey, { ...body, sub: session.user.id });
}
/** Signs a message with `pin`: the signature (checked with viem) or the error code. */
async function sign(pin, message = `restore drill ${new Date().toISOString()}`) {
  const pinEnvelope = await envelope({ purpose: 'sign', walletId, network: 'evm', kind: 'evm-message', address, digest: hashMessage(message), pin });
  const res = await call('POST', `/v1/wallets/${walletId}/sign`, { network: 'evm', kind: 'message', message, pinEnvelope }, session.accessToken);
  if (res.status !== 200) return { code: res.json.error?.code ?? String(res.status), message: res.json.error?.message };
  return { signed: await verifyMessage({ address, message, signature: res.json.signature }) };
}
const listed = async () => (await call('GET', '/v1/wallets', undefined, session.accessToken)).json.wallets?.length ?? 0;

// --- the drill -------------------------------------------------------------------------------------------
const stopAll = async () => {
  await running?.stop();
};
process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
process.on('SIGTERM', () => void stopAll().then(() => process.exit(143)));

try {
  console.log(`Restore drill on ${dataDir} (host ${API})`);
  if (existsSync(join(dataDir, 'launcher.json')))
    note('(the data folder has a launcher.json: if a stack runs on it, the launcher refuses to start a second one)');

  say('Start the local stack, log in, create a wallet, sign');
  await stackUp();
  await login();
  const created = await call('POST', '/v1/wallets', { pinEnvelope: await envelope({ purpose: 'create-wallet', pin: PIN }) }, session.accessToken);
  check(created.status === 201, `wallet ${created.json.walletId} created (${created.status})`);
  walletId = created.json.walletId;
  address = created.json.accounts?.find((a) => a.network === 'evm')?.address;
  check((await sign(PIN)).signed === true, 'signed with the PIN (verified with viem)');
  await stackDown();

  say('Backup "before-pin-change": both tables at one point in time (the stack stopped)');
  let b = await backup('before-pin-change');
  note(`${b.dir}: ${JSON.stringify(b.counts)}`);

  say('The user changes the PIN');
  await stackUp();
  await login();
  const changed = await call(
    'POST',
    `/v1/wallets/${walletId}/pin`,
    { pinEnvelope: await envelope({ purpose: 'change-pin', walletId, pin: PIN, newPin: NEW_PIN }) },
    session.accessToken,
  );
  check(changed.status === 204, `PIN changed (${changed.status})`);
  check((await sign(NEW_PIN)).signed === true, 'signed with the new PIN');
  await stackDown();

  say('Backup "after-pin-change": both tables again');
  b = await backup('after-pin-change');
  note(`${b.dir}: ${JSON.stringify(b.counts)}`);

  say('Damage: the wallet record is deleted from the wallet table');
  await withTables(async (db) => {
    const items = await scanAll(db, walletTable);
    const record = items.find((i) => i.sk?.S === `WALLET#${walletId}`);
    await batchWrite(db, walletTable, [{ DeleteRequest: { Key: { pk: record.pk, sk: record.sk } } }]);
  });
  await stackUp();
  await login();
  check((await listed()) === 0, 'the user has no wallet');
  const lost = await sign(NEW_PIN);
  check(lost.code === 'WALLET_NOT_FOUND', `signing: ${lost.code}`);
  await stackDown();

  say('Restore both tables from "after-pin-change" (the stack stopped)');
  await restore('after-pin-change', [walletTable, guardTable]);
  await stackUp();
  await login();
  check((await listed()) === 1, 'the wallet is back');
  check((await sign(NEW_PIN)).signed === true, 'it signs with the current PIN');
  const old = await sign(PIN);
  check(old.code === 'PIN_INVALID', `the PIN from before the change: ${old.code}`);
  await stackDown();

  say('Why never the guard table alone (1): a rollback forgets counted guesses and lock-outs');
  await stackUp();
  await login();
  // With the old PIN tried above, the fourth wrong PIN is the fifth failure: the wallet locks.
  const wrong = [];
  for (let i = 0; i < 5; i++) wrong.push((await sign(WRONG_PIN)).code);
  note(`wrong PINs: ${wrong.join(', ')}`);
  const locked = await sign(NEW_PIN);
  check(locked.code === 'PIN_LOCKED', `then the right PIN: ${locked.code} (the wallet is locked)`);
  await stackDown();
  await restore('after-pin-change', [guardTable]);
  await stackUp();
  await login();
  const unlocked = await sign(NEW_PIN);
  check(unlocked.signed === true, 'guard table alone rolled back to "after-pin-change": the lock-out is gone and the guesses are free again (harmful)');
  await stackDown();

  say('Why never the guard table alone (2): rolled back past a PIN change');
  await restore('before-pin-change', [guardTable]);
  await stackUp();
  await login();
  const refusedNew = await sign(NEW_PIN);
  check(Boolean(refusedNew.code), `with the current wallet record, the current PIN: ${refusedNew.code} (${refusedNew.message})`);
  const refusedOld = await sign(PIN);
  check(Boolean(refusedOld.code), `with the current wallet record, the old PIN: ${refusedOld.code}: the wallet is unusable`);
  await stackDown();
  await restore('before-pin-change', [walletTable]);
  await stackUp();
  await login();
  const reopened = await sign(PIN);
  check(reopened.signed === true, 'with the older wallet record a host kept, the PIN the user changed works again (harmful)');
  await stackDown();

  say("Why the guard table must never be lost: the wallet's guard item deleted");
  await restore('after-pin-change', [walletTable, guardTable]);
  await withTables((db) => batchWrite(db, guardTable, [{ DeleteRequest: { Key: { pk: { S: `wallet#${walletId}` } } } }]));
  await stackUp();
  await login();
  const orphan = await sign(NEW_PIN);
  check(orphan.code === 'BLOB_INVALID', `the wallet record is intact, the guard item gone: ${orphan.code} (${orphan.message})`);
  await stackDown();

  say('Restore both tables from "after-pin-change" again');
  await restore('after-pin-change', [walletTable, guardTable]);
  await stackUp();
  await login();
  check((await sign(NEW_PIN)).signed === true, 'the wallet signs with the current PIN');
  const stale = await sign(PIN);
  check(stale.code === 'PIN_INVALID', `the old PIN: ${stale.code}`);
  await stackDown();

  console.log(
    failures
      ? `\n✗ ${failures} check(s) failed. Data: ${dataDir}`
      : `\n✓ Drill passed: both tables restored together bring the wallet back; the guard table alone is refused or harmful. Data: ${dataDir}`,
  );
  process.exitCode = failures ? 1 : 0;
} catch (err) {
  console.error(`\n✗ the drill stopped: ${err.message}`);
  if (running) console.error(running.log());
  await stopAll();
  process.exitCode = 1;
}
