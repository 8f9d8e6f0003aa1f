/**
 * The demo page in a real browser: Debian's chromium driven by playwright-core
 * against the in-process stack (demo on, dev issuer answering CORS) and anvil.
 * A person's path: log in with an email, choose a PIN twice on the on-screen
 * pad, see the verified attestation and the addresses, fund and see the
 * balance (read by the API from anvil), sign a message (checked here with
 * viem), send a transaction (prepared by the API, checked by the SDK, mined
 * by anvil), each time reading on the PIN pad what the PIN approves (the
 * SDK's summary, decoded from the bytes signed), and see the API's own
 * message for a wrong PIN, at desktop and phone width. Screenshots go to
 * test/artifacts/. Without chromium the test is skipped, except in CI, where
 * it fails (.ci/run installs chromium).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createPublicClient, http, verifyMessage, type Address, type Hex } from 'viem';
import { foundry } from 'viem/chains';
import { parseChains } from '@enclave-wallet/host';
import { startAnvil, type Anvil } from '../support/anvil.js';
import { startStack, type Stack } from '../support/stack.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const artifacts = fileURLToPath(new URL('../artifacts/', import.meta.url));
if (!CHROMIUM) {
  const how = 'Chromium is not installed: apt-get install -y chromium (or set CHROMIUM_PATH)';
  if (process.env.CI) throw new Error(how);
  console.warn(`skipping the browser tests. ${how}`);
}
const maybe = CHROMIUM ? describe : describe.skip;

maybe('the demo page in Chromium', () => {
  let stack: Stack;
  let anvil: Anvil;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    anvil = await startAnvil();
    stack = await startStack({
      demo: { chainRpc: anvil.rpc },
      chains: parseChains(JSON.stringify([{ network: 'evm', chainId: 31337, name: 'Anvil', rpcUrl: anvil.rpc, nativeSymbol: 'ETH' }])),
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    anvil?.stop();
  });

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

  test('a person logs in, creates a wallet on the PIN pad, signs and sends', async () => {
    await page.goto(`${stack.url}/demo`);
    await page.fill('#email', 'browser@example.com');
    await page.click('#login');
    await page
      .locator('#att-pcr0')
      .filter({ hasText: /[0-9a-f]{96}/ })
      .waitFor();
    expect(await page.textContent('#att-mode')).toBe('simulated');
    await page.click('#create');
    await pad('493817');
    await pad('493817');
    await page
      .locator('#addr-evm')
      .filter({ hasText: /^0x[0-9a-fA-F]{40}$/ })
      .waitFor();
    const evm = (await page.textContent('#addr-evm')) as Address;
    expect(await page.textContent('#addr-solana')).toMatch(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/);
    expect(await page.textContent('#addr-bitcoin')).toMatch(/^bc1q/);
    expect(await page.textContent('#balance')).toBe('0.0000 ETH');
    await page.click('#fund');
    await page.locator('#balance').filter({ hasText: '1.0000 ETH' }).waitFor();

    await page.fill('#message', 'Signed in a browser');
    await page.click('#sign');
    expect(await summary()).toEqual({ Action: 'Sign a message (EVM)', Message: 'Signed in a browser' });
    await pad('493817');
    await page
      .locator('#signature')
      .filter({ hasText: /^0x[0-9a-f]{130}$/ })
      .waitFor();
    const signature = (await page.textContent('#signature')) as Hex;
    expect(await verifyMessage({ address: evm, message: 'Signed in a browser', signature })).toBe(true);

    await page.click('#send');
    expect(await summary()).toMatchObject({
      Action: 'Send an EVM transaction',
      Chain: 'Anvil (local) (31337)',
      Recipient: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
      Value: '0.01 ETH',
    });
    await page.screenshot({ path: `${artifacts}demo-pinpad-transaction.png` });
    await pad('493817');
    await page
      .locator('#tx')
      .filter({ hasText: /mined in block \d+ \(success\)/ })
      .waitFor({ timeout: 20_000 });
    const hash = /0x[0-9a-f]{64}/.exec((await page.textContent('#tx'))!)![0] as Hex;
    const receipt = await createPublicClient({ chain: foundry, transport: http(anvil.rpc) }).getTransactionReceipt({ hash });
    expect(receipt.from).toBe(evm.toLowerCase());
    await page.screenshot({ path: `${artifacts}demo.png`, fullPage: true });
    expect(consoleErrors).toEqual([]);
  }, 90_000);

  test('a wrong PIN shows the API’s message, not a stack trace; the PIN pad shows only dots, and the summary at phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.fill('#message', 'Pay Bob 5 ETH?\nReply with your PIN');
    await page.click('#sign');
    expect(await summary()).toEqual({ Action: 'Sign a message (EVM)', Message: 'Pay Bob 5 ETH?\nReply with your PIN' });
    for (const d of '000000') await page.click(`[data-digit="${d}"]`);
    expect(await page.textContent('#pin-dots')).toBe('••••••');
    // Everything fits: the OK key is on screen, and the page does not scroll sideways.
    expect(await page.locator('#pin-ok').isVisible()).toBe(true);
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await page.screenshot({ path: `${artifacts}demo-pinpad.png` });
    await page.click('#pin-ok');
    await page.locator('#error').filter({ hasText: 'Wrong PIN' }).waitFor();
    expect(await page.textContent('#error')).toBe('Wrong PIN: 4 attempts left. (PIN_INVALID)');
    await page.screenshot({ path: `${artifacts}demo-wrong-pin.png`, fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
    // Four more: the wallet locks, and the page says for how long.
    for (let i = 0; i < 4; i++) {
      await page.click('#sign');
      await pad('000000');
      await page.locator('#sign:not([disabled])').waitFor();
    }
    expect(await page.textContent('#error')).toBe('Too many wrong PINs: the wallet is locked for 60 s. (PIN_LOCKED)');
  }, 60_000);
});
