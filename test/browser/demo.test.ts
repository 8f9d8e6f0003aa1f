/**
 * The demo page in a real browser: Debian's chromium driven by playwright-core
 * against the real local stack (`scripts/start.mjs`: every process real, anvil
 * and the local Solana endpoint included, as `npm start` runs it). A person's
 * path, at desktop (1280×800) and phone (390×844) width: log in with an email,
 * see nothing of a wallet before there is one, choose a PIN on the on-screen
 * pad (a weak one refused on the pad), see the verified attestation and the
 * addresses, be told "not enough ETH" before any PIN is asked, fund ETH and
 * SOL and see the balances (read by the API from the nodes), sign a message
 * (checked here with viem), send ETH (mined by anvil) and SOL (checked on the
 * Solana node), each time reading on the PIN pad what the PIN approves, and
 * sign out. Then the errors: in words, in the card that failed, an old result
 * cleared; a wrong PIN and the lock-out. Recovery: the code shown once after
 * creation with one group typed back, the PIN locked with 5 wrong PINs,
 * "Forgot PIN?" with the code (a typo refused before any PIN), a new code
 * shown once, the old PIN and the used code refused, a signature with the new
 * PIN. Nothing scrolls sideways at 390 px.
 * Screenshots go to test/artifacts/. Without chromium the test is skipped,
 * except in CI, where it fails (.ci/run installs chromium). Needs the build.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, ListTablesCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createPublicClient, http, verifyMessage, type Address, type Hex } from 'viem';
import { foundry } from 'viem/chains';
import { freePort } from '../support/ports.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const repo = fileURLToPath(new URL('../../', import.meta.url));
const artifacts = fileURLToPath(new URL('../artifacts/', import.meta.url));
if (!CHROMIUM) {
  const how = 'Chromium is not installed: apt-get install -y chromium (or set CHROMIUM_PATH)';
  if (process.env.CI) throw new Error(how);
  console.warn(`skipping the browser tests. ${how}`);
}
const maybe = CHROMIUM ? describe : describe.skip;
const SOL_RECIPIENT = '9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin';

maybe('the demo page in Chromium, on the local stack', () => {
  let launcher: ChildProcess;
  let browser: Browser;
  let page: Page;
  let url: string;
  let ports: Record<string, number>;
  const consoleErrors: string[] = [];
  /** What the launcher and its processes wrote to stdout (their logs). */
  const logs: string[] = [];

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    ports = {
      HOST_PORT: await freePort(),
      ENCLAVE_PORT: await freePort(),
      LOCAL_KMS_PORT: await freePort(),
      DYNAMODB_PORT: await freePort(),
      DEV_ISSUER_PORT: await freePort(),
      LOCAL_CHAIN_PORT: await freePort(),
      LOCAL_SOLANA_PORT: await freePort(),
      FRAME_PORT: await freePort(),
    };
    launcher = spawn(process.execPath, [join(repo, 'scripts/start.mjs')], {
      env: {
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !['ENCLAVE_LISTEN', 'ENCLAVE_ADDRESS', 'HOST_PUBLIC_URL'].includes(k))),
        ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
        DATA_DIR: mkdtempSync(join(tmpdir(), 'demo-browser-')),
        SHUTDOWN_TIMEOUT_MS: '3000',
        // Every request logged, so the recovery test can search the logs for the codes.
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
      detached: true,
    });
    launcher.stdout!.setEncoding('utf8');
    launcher.stdout!.on('data', (chunk: string) => logs.push(chunk));
    url = `http://127.0.0.1:${ports.HOST_PORT}`;
    let ready = false;
    for (let i = 0; i < 600 && !ready; i++) {
      ready = await fetch(`${url}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
    if (!ready) throw new Error('the local stack did not come up');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    // JavaScript errors; a 4xx answer the page shows in words is the browser's "Failed to load resource", not one.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    if (launcher?.pid) {
      const exited = new Promise((r) => launcher.once('exit', r));
      process.kill(-launcher.pid, 'SIGTERM');
      await exited;
    }
  }, 30_000);

  const pad = async (pin: string): Promise<void> => {
    await page.locator('#pinpad').waitFor({ state: 'visible' });
    for (const d of pin) await page.click(`[data-digit="${d}"]`);
    await page.click('#pin-ok');
  };
  /** The PIN pad's summary as label → value. */
  const summary = async (): Promise<Record<string, string>> => {
    await page.locator('#pin-summary').waitFor({ state: 'visible' });
    return page.$$eval('#pin-summary dt', (dts) => Object.fromEntries(dts.map((dt) => [dt.textContent, dt.nextElementSibling?.textContent ?? ''])));
  };
  /** Nothing scrolls sideways: the page is no wider than the window. */
  const noSideScroll = async (): Promise<void> => {
    const [scroll, inner] = (await page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')) as [number, number];
    expect(scroll).toBeLessThanOrEqual(inner);
  };
  const visible = (selector: string): Promise<boolean> => page.locator(selector).isVisible();
  const CODE = /^([0-9A-HJKMNP-TV-Z]{4}-){6}[0-9A-HJKMNP-TV-Z]{4}$/;
  /**
   * The recovery code box as a user goes through it: the code shown (returned), "I wrote it down", a wrong group
   * refused, the asked group typed back; then the box is gone and the code is nowhere in the page.
   */
  const keepCode = async (shot?: string): Promise<string> => {
    await page.locator('#recovery-code').filter({ hasText: CODE }).waitFor();
    const code = (await page.textContent('#recovery-code'))!;
    await noSideScroll();
    if (shot) await page.screenshot({ path: `${artifacts}${shot}-code.png` });
    await page.click('#code-written');
    expect(await visible('#recovery-code')).toBe(false);
    const n = Number(await page.getAttribute('#code-ask', 'data-group'));
    expect(await page.textContent('#code-ask')).toBe(`To check, type group ${n} of 7 of your code:`);
    const group = code.split('-')[n - 1]!;
    await page.fill('#code-group', group === 'ZZZZ' ? 'YYYY' : 'ZZZZ');
    await page.click('#code-check-ok');
    expect(await page.textContent('#code-hint')).toBe(`That is not group ${n}. Look at what you wrote down, or show the code again.`);
    await noSideScroll();
    if (shot) await page.screenshot({ path: `${artifacts}${shot}-typeback.png` });
    await page.fill('#code-group', group.toLowerCase());
    await page.click('#code-check-ok');
    await page.locator('#code-done').waitFor({ state: 'visible' });
    expect(await visible('#code-box')).toBe(false);
    expect(await page.content()).not.toContain(code);
    return code;
  };
  const solanaBalance = async (address: string): Promise<bigint> => {
    const res = await fetch(`http://127.0.0.1:${ports.LOCAL_SOLANA_PORT}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getBalance', params: [address] }),
    });
    return BigInt(((await res.json()) as { result: { value: number } }).result.value);
  };

  test.each([
    ['desktop', 1280, 800],
    ['phone', 390, 844],
  ])(
    '%s (%i×%i): sign in, create a wallet on the PIN pad, fund, sign, send ETH and SOL, sign out',
    async (name, width, height) => {
      await page.setViewportSize({ width, height });
      await page.goto(`${url}/demo`);
      await noSideScroll();
      await page.screenshot({ path: `${artifacts}demo-${name}-start.png` });
      await page.fill('#email', `browser-${name}@example.com`);
      await page.click('#login'); // at 390 px too: the button is on screen and takes the click
      await page
        .locator('#att-pcr0')
        .filter({ hasText: /[0-9a-f]{96}/ })
        .waitFor();
      expect(await page.textContent('#att-mode')).toBe('simulated');
      // Signed in: the form gives way to who and a sign-out; nothing of a wallet shows before there is one.
      expect(await visible('#login-form')).toBe(false);
      expect(await page.textContent('#who')).toBe(`Signed in as browser-${name}@example.com`);
      expect(await visible('#logout')).toBe(true);
      await page.locator('#create').waitFor({ state: 'visible' });
      for (const hidden of ['#addresses', '#balances', '#fund', '#fund-sol', '#sign-card', '#send-card', '#send-sol-card'])
        expect([hidden, await visible(hidden)]).toEqual([hidden, false]);
      await noSideScroll();
      await page.screenshot({ path: `${artifacts}demo-${name}-no-wallet.png`, fullPage: true });

      // A weak PIN is refused on the pad, before anything is sent; the pad stays open.
      await page.click('#create');
      await pad('111111');
      expect(await page.textContent('#pin-hint')).toBe('One digit repeated is too easy to guess. Choose another PIN.');
      expect(await visible('#pinpad')).toBe(true);
      await page.click('[data-digit="1"]'); // the next PIN begins: the refusal of the last one goes
      expect(await page.textContent('#pin-hint')).toBe('');
      for (const d of '23456') await page.click(`[data-digit="${d}"]`);
      await page.click('#pin-ok');
      expect(await page.textContent('#pin-hint')).toBe('A run like 123456 is too easy to guess. Choose another PIN.');
      for (const d of '4938') await page.click(`[data-digit="${d}"]`);
      await page.click('#pin-ok');
      expect(await page.textContent('#pin-hint')).toBe('A PIN has at least 6 digits.');
      for (const _ of '4938') await page.click('#pin-back');
      await pad('493817');
      await pad('493817');
      await page
        .locator('#addr-evm')
        .filter({ hasText: /^0x[0-9a-fA-F]{40}$/ })
        .waitFor();
      const evm = (await page.textContent('#addr-evm')) as Address;
      const sol = (await page.textContent('#addr-solana'))!;
      expect(sol).toMatch(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/);
      expect(await page.textContent('#addr-bitcoin')).toMatch(/^bc1q/);
      await page.locator('#balance').filter({ hasText: '0.0000 ETH' }).waitFor();
      await page.locator('#balance-sol').filter({ hasText: '0.0000 SOL' }).waitFor();
      expect(await visible('#no-wallet')).toBe(false);
      // The recovery code, shown once, one group typed back.
      await keepCode();

      // Not enough ETH: said before any PIN is asked.
      await page.click('#send');
      await page.locator('#send-error').waitFor({ state: 'visible' });
      expect(await page.textContent('#send-error')).toBe('Not enough ETH: the balance is 0.0000 ETH. Get test ETH above.');
      expect(await visible('#pinpad')).toBe(false);

      await page.click('#fund');
      await page.locator('#balance').filter({ hasText: '1.0000 ETH' }).waitFor();
      await page.click('#fund-sol');
      await page.locator('#balance-sol').filter({ hasText: '1.0000 SOL' }).waitFor();
      expect(await visible('#send-error')).toBe(false);

      await page.fill('#message', `Signed in a browser (${name})`);
      await page.click('#sign');
      expect(await summary()).toEqual({ Action: 'Sign a message (EVM)', Message: `Signed in a browser (${name})` });
      await noSideScroll();
      await pad('493817');
      await page
        .locator('#signature')
        .filter({ hasText: /^0x[0-9a-f]{130}$/ })
        .waitFor();
      const signature = (await page.textContent('#signature')) as Hex;
      expect(await verifyMessage({ address: evm, message: `Signed in a browser (${name})`, signature })).toBe(true);

      await page.click('#send');
      expect(await summary()).toMatchObject({
        Action: 'Send an EVM transaction',
        Chain: 'Anvil, local (31337)',
        Recipient: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
        Value: '0.01 ETH',
      });
      await noSideScroll();
      await page.screenshot({ path: `${artifacts}demo-${name}-pinpad-transaction.png` });
      await pad('493817');
      await page
        .locator('#tx')
        .filter({ hasText: /mined in block \d+ \(success\)/ })
        .waitFor({ timeout: 20_000 });
      const hash = /0x[0-9a-f]{64}/.exec((await page.textContent('#tx'))!)![0] as Hex;
      const receipt = await createPublicClient({ chain: foundry, transport: http(`http://127.0.0.1:${ports.LOCAL_CHAIN_PORT}`) }).getTransactionReceipt({
        hash,
      });
      expect(receipt.from).toBe(evm.toLowerCase());

      const before = await solanaBalance(SOL_RECIPIENT);
      await page.fill('#amount-sol', '0.02');
      await page.click('#send-sol');
      expect(await summary()).toMatchObject({ Action: 'Sign a Solana transaction', Cluster: 'localnet', From: sol, To: SOL_RECIPIENT, Transfer: '0.02 SOL' });
      await page.screenshot({ path: `${artifacts}demo-${name}-pinpad-solana.png` });
      await pad('493817');
      await page
        .locator('#tx-sol')
        .filter({ hasText: /confirmed in slot \d+/ })
        .waitFor({ timeout: 20_000 });
      expect((await solanaBalance(SOL_RECIPIENT)) - before).toBe(20_000_000n);
      await page.locator('#balance-sol').filter({ hasText: '0.9799 SOL' }).waitFor();
      await noSideScroll();
      await page.screenshot({ path: `${artifacts}demo-${name}.png`, fullPage: true });

      // Sign out: back to the form, nothing of this user left on screen.
      await page.click('#logout');
      await page.locator('#login-form').waitFor({ state: 'visible' });
      for (const gone of ['#wallet-card', '#sign-card', '#send-card', '#send-sol-card', '#attestation-card', '#logout'])
        expect([gone, await visible(gone)]).toEqual([gone, false]);
      expect(await page.textContent('#signature')).toBe('');
      expect(consoleErrors).toEqual([]);
    },
    120_000,
  );

  test('errors in words in the card that failed, an old signature cleared; a wrong PIN and the lock-out, at phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${url}/demo`);
    await page.fill('#email', 'browser-phone@example.com');
    await page.click('#login');
    await page.locator('#addr-evm').filter({ hasText: /^0x/ }).waitFor();
    await page.click('#sign');
    await pad('493817');
    await page.locator('#signature').filter({ hasText: /^0x/ }).waitFor();

    await page.fill('#message', 'Pay Bob 5 ETH?\nReply with your PIN');
    await page.click('#sign');
    expect(await summary()).toEqual({ Action: 'Sign a message (EVM)', Message: 'Pay Bob 5 ETH?\nReply with your PIN' });
    for (const d of '000000') await page.click(`[data-digit="${d}"]`);
    expect(await page.textContent('#pin-dots')).toBe('••••••');
    // Everything fits: the OK key is on screen, and the page does not scroll sideways.
    expect(await page.locator('#pin-ok').isVisible()).toBe(true);
    await noSideScroll();
    await page.screenshot({ path: `${artifacts}demo-pinpad.png` });
    await page.click('#pin-ok');
    await page.locator('#sign-error').waitFor({ state: 'visible' });
    expect(await page.textContent('#sign-error')).toBe('Wrong PIN: 4 attempts left.');
    expect(await page.textContent('#signature')).toBe(''); // the earlier signature does not stay beside the failure
    await page.screenshot({ path: `${artifacts}demo-wrong-pin.png`, fullPage: true });

    // A recipient that is no address, and an amount that is no amount: said in the card, nothing sent.
    await page.fill('#to', '0x1234');
    await page.click('#send');
    expect(await page.textContent('#send-error')).toBe('The recipient is not an EVM address (0x and 40 hex digits).');
    expect(await visible('#sign-error')).toBe(false);
    await page.fill('#to', '0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
    await page.fill('#amount-sol', 'lots');
    await page.click('#send-sol');
    expect(await page.textContent('#send-sol-error')).toBe('Enter an amount of SOL like 0.01 (at most 9 decimals).');
    // More SOL than the wallet holds: said before any PIN.
    await page.fill('#amount-sol', '5');
    await page.click('#send-sol');
    await page.locator('#send-sol-error').filter({ hasText: 'Not enough SOL' }).waitFor();
    expect(await visible('#pinpad')).toBe(false);

    // Four more wrong PINs: the wallet locks, and the page says for how long.
    for (let i = 0; i < 4; i++) {
      await page.click('#sign');
      await pad('000000');
      await page.locator('#sign:not([disabled])').waitFor();
    }
    expect(await page.textContent('#sign-error')).toBe('Too many wrong PINs: the wallet is locked for 60 s. Forgot your PIN? Use your recovery code.');
    await noSideScroll();
    expect(consoleErrors).toEqual([]);
  }, 90_000);

  test.each([
    ['desktop', 1280, 800],
    ['phone', 390, 844],
  ])(
    'recovery, %s (%i×%i): the code shown once and typed back, the PIN locked, "Forgot PIN?" with the code, sign with the new PIN',
    async (name, width, height) => {
      await page.setViewportSize({ width, height });
      await page.goto(`${url}/demo`);
      await page.fill('#email', `recovery-${name}@example.com`);
      await page.click('#login');
      await page.locator('#create').waitFor({ state: 'visible' });
      await page.click('#create');
      await pad('493817');
      await pad('493817');
      const code = await keepCode(`recovery-${name}`);
      const evm = (await page.locator('#addr-evm').filter({ hasText: /^0x/ }).textContent()) as Address;
      expect(await page.textContent('#code-done')).toBe('Recovery code checked. It will not be shown again: keep it safe.');

      // Five wrong PINs lock the wallet; the right one is refused while it is locked.
      for (let i = 0; i < 5; i++) {
        await page.click('#sign');
        await pad(`20000${i}`);
        await page.locator('#sign:not([disabled])').waitFor();
      }
      expect(await page.textContent('#sign-error')).toBe('Too many wrong PINs: the wallet is locked for 60 s. Forgot your PIN? Use your recovery code.');
      await page.click('#sign');
      await pad('493817');
      await page.locator('#sign:not([disabled])').waitFor();
      expect(await page.textContent('#sign-error')).toMatch(/^Too many wrong PINs: the wallet is locked for \d+ s\./);

      // "Forgot PIN?" on the PIN pad: the request is cancelled and the recovery form opens.
      await page.click('#sign');
      await page.locator('#pinpad').waitFor({ state: 'visible' });
      expect(await visible('#pin-forgot')).toBe(true);
      await noSideScroll();
      await page.screenshot({ path: `${artifacts}recovery-${name}-pinpad-forgot.png` });
      await page.click('#pin-forgot');
      await page.locator('#forgot-form').waitFor({ state: 'visible' });
      expect(await visible('#pinpad')).toBe(false);
      // A typo: said in words, no PIN asked, nothing sent.
      await page.fill(
        '#forgot-code',
        code.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
      );
      await page.click('#forgot-ok');
      await page.locator('#forgot-error').waitFor({ state: 'visible' });
      expect(await page.textContent('#forgot-error')).toBe(
        'That recovery code has a typo: it is 7 groups of 4 letters and digits. Check each group. Nothing was sent.',
      );
      expect(await visible('#pinpad')).toBe(false);
      // As a person types it: lowercase, spaces.
      await page.fill('#forgot-code', code.toLowerCase().replaceAll('-', ' '));
      await noSideScroll();
      await page.screenshot({ path: `${artifacts}recovery-${name}-forgot.png`, fullPage: true });
      await page.click('#forgot-ok');
      await pad('270394');
      await pad('270394');
      await page.locator('#code-title').filter({ hasText: 'New PIN set' }).waitFor();
      expect(await visible('#forgot-form')).toBe(false);
      const newCode = await keepCode(`recovery-${name}-new`);
      expect(newCode).not.toBe(code);

      // The old PIN fails, the new one signs (checked here with viem).
      await page.click('#sign');
      await pad('493817');
      await page.locator('#sign-error').filter({ hasText: 'Wrong PIN' }).waitFor();
      expect(await page.textContent('#sign-error')).toBe('Wrong PIN: 4 attempts left.');
      await page.fill('#message', `Signed after a reset (${name})`);
      await page.click('#sign');
      await pad('270394');
      await page
        .locator('#signature')
        .filter({ hasText: /^0x[0-9a-f]{130}$/ })
        .waitFor();
      const signature = (await page.textContent('#signature')) as Hex;
      expect(await verifyMessage({ address: evm, message: `Signed after a reset (${name})`, signature })).toBe(true);
      await noSideScroll();
      await page.screenshot({ path: `${artifacts}recovery-${name}-signed.png`, fullPage: true });

      // The used code no longer works.
      await page.click('#forgot');
      await page.fill('#forgot-code', code);
      await page.click('#forgot-ok');
      await pad('615243');
      await pad('615243');
      await page.locator('#forgot-error').waitFor({ state: 'visible' });
      expect(await page.textContent('#forgot-error')).toBe('That is not this wallet’s recovery code: 4 attempts left.');
      expect(await page.content()).not.toContain(code);
      expect(await page.content()).not.toContain(newCode);

      // Neither code, in any form, in the processes' logs or in any table of the local DynamoDB.
      const dynamo = new DynamoDBClient({
        region: 'us-east-1',
        endpoint: `http://127.0.0.1:${ports.DYNAMODB_PORT}`,
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      const tables = (await dynamo.send(new ListTablesCommand({}))).TableNames ?? [];
      expect(tables.length).toBeGreaterThanOrEqual(2); // the wallets and the guard
      const stored = JSON.stringify(await Promise.all(tables.map((TableName) => dynamo.send(new ScanCommand({ TableName })))));
      expect(stored).toContain(evm); // the scan is real: the wallet's accounts are there
      expect(logs.join('')).toContain('/pin/reset'); // and so are the logs
      for (const c of [code, newCode])
        for (const form of [c, c.replaceAll('-', ''), c.toLowerCase(), c.toLowerCase().replaceAll('-', ' ')]) {
          expect(logs.join('')).not.toContain(form);
          expect(stored).not.toContain(form);
        }
      dynamo.destroy();
      expect(consoleErrors).toEqual([]);
    },
    120_000,
  );
});
