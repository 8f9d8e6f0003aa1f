/**
 * Passkeys in a real browser (docs/passkeys.md): Debian's chromium driven by playwright-core against the real local
 * stack (scripts/start.mjs), the demo page opened at http://localhost (WebAuthn refuses an IP address as the RP id),
 * real `navigator.credentials` calls in the page answered by the DevTools Protocol's virtual authenticator
 * (`WebAuthn.addVirtualAuthenticator`: CTAP2, internal transport, resident keys, user verification, PRF).
 *
 * At 1280×800 and at 390×844: add a passkey with the PIN (the credential the authenticator holds is the one the
 * wallet lists), sign a message with it (checked with viem), send ETH with it (mined by anvil) and SOL (confirmed by
 * the local cluster), each time reading the decoded summary before the passkey is asked; reset the PIN with the passkey (the old PIN refused, the new one
 * signs); user verification turned off: nothing signed, no request sent; remove the passkey with the PIN. An
 * authenticator without PRF: the page says so in words and no slot is added (no request sent, none listed).
 * Screenshots go to test/artifacts/passkey-*.png. Without chromium the test is skipped, except in CI. Needs the build.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import { createPublicClient, http, verifyMessage, type Address, type Hex } from 'viem';
import { foundry } from 'viem/chains';
import { startDemoStack, type DemoStack } from '../support/demo-stack.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const artifacts = fileURLToPath(new URL('../artifacts/', import.meta.url));
if (!CHROMIUM) {
  const how = 'Chromium is not installed: apt-get install -y chromium (or set CHROMIUM_PATH)';
  if (process.env.CI) throw new Error(how);
  console.warn(`skipping the browser tests. ${how}`);
}
const maybe = CHROMIUM ? describe : describe.skip;

const SOL_RECIPIENT = '9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin';

/** base64 (CDP's encoding of credential ids) → base64url without padding (the API's). */
const b64url = (b64: string): string => b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

interface Authenticator {
  cdp: CDPSession;
  id: string;
  credentials(): Promise<Array<{ credentialId: string; signCount: number; isResidentCredential: boolean }>>;
  setUserVerified(on: boolean): Promise<void>;
}

maybe('passkeys on the demo page in Chromium, with the DevTools virtual authenticator', () => {
  let stack: DemoStack;
  let browser: Browser;
  let url: string;

  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true });
    stack = await startDemoStack({ LOG_LEVEL: 'warn' });
    url = `http://localhost:${stack.ports.HOST_PORT}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  }, 30_000);

  /** A new page with its own virtual authenticator, and what it sent to the API and wrote to the console. */
  async function open(width: number, height: number, options: { prf: boolean }) {
    const page = await browser.newPage({ viewport: { width, height } });
    const consoleErrors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text());
      // Chromium warns when pubKeyCredParams lacks ES256 or RS256 (registration fails on authenticators with RSA only).
      if (m.type() === 'warning' && m.text().includes('pubKeyCredParams')) consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    page.on('request', (r) => {
      if (r.url().startsWith(`${url}/v1/`)) requests.push(`${r.method()} ${new URL(r.url()).pathname}`);
    });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable', {});
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
        hasPrf: options.prf,
        automaticPresenceSimulation: true,
      },
    });
    const authenticator: Authenticator = {
      cdp,
      id: authenticatorId,
      credentials: async () => (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials,
      setUserVerified: async (on) => {
        await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: on });
      },
    };
    // Network idle: the page's module has fetched its configuration and attached its handlers (a click before that
    // would submit the sign-in form natively, which the page's CSP blocks).
    await page.goto(`${url}/demo`, { waitUntil: 'networkidle' });
    return { page, authenticator, consoleErrors, requests };
  }

  const pad = async (page: Page, pin: string): Promise<void> => {
    await page.locator('#pin-entry').waitFor({ state: 'visible' });
    for (const d of pin) await page.click(`[data-digit="${d}"]`);
    await page.click('#pin-ok');
  };
  /** Signs `message` on the page with `pin` and waits for the signature to show. */
  const signWithPin = async (page: Page, message: string, pin: string): Promise<void> => {
    await page.fill('#message', message);
    await page.click('#sign');
    await pad(page, pin);
    await page
      .locator('#signature')
      .filter({ hasText: /^0x[0-9a-f]{130}$/ })
      .waitFor();
  };
  /** The local Solana cluster's balance of `address`, in lamports. */
  const solanaBalance = async (address: string): Promise<bigint> => {
    const res = await fetch(`http://127.0.0.1:${stack.ports.LOCAL_SOLANA_PORT}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'getBalance', params: [address] }),
    });
    return BigInt(((await res.json()) as { result: { value: number } }).result.value);
  };

  const summary = async (page: Page): Promise<Record<string, string>> => {
    await page.locator('#pin-summary').waitFor({ state: 'visible' });
    return page.$$eval('#pin-summary dt', (dts) => Object.fromEntries(dts.map((dt) => [dt.textContent, dt.nextElementSibling?.textContent ?? ''])));
  };
  const noSideScroll = async (page: Page): Promise<void> => {
    const [scroll, inner] = (await page.evaluate('[document.documentElement.scrollWidth, window.innerWidth]')) as [number, number];
    expect(scroll).toBeLessThanOrEqual(inner);
  };
  /** Signs in, makes a wallet under `pin` and puts its recovery code away (typed back); returns the EVM address. */
  async function newWallet(page: Page, email: string, pin: string): Promise<Address> {
    return (await newWalletAndCode(page, email, pin)).evm;
  }
  /** newWallet, with the recovery code it showed. */
  async function newWalletAndCode(page: Page, email: string, pin: string): Promise<{ evm: Address; code: string }> {
    await page.fill('#email', email);
    await page.click('#login');
    await page.locator('#create').waitFor({ state: 'visible' });
    await page.click('#create');
    await pad(page, pin);
    await pad(page, pin);
    await page.locator('#recovery-code').filter({ hasText: /-/ }).waitFor();
    const code = (await page.textContent('#recovery-code'))!;
    await page.click('#code-written');
    const n = Number(await page.getAttribute('#code-ask', 'data-group'));
    await page.fill('#code-group', code.split('-')[n - 1]!);
    await page.click('#code-check-ok');
    await page.locator('#code-done').waitFor({ state: 'visible' });
    const evm = (await page
      .locator('#addr-evm')
      .filter({ hasText: /^0x[0-9a-fA-F]{40}$/ })
      .textContent()) as Address;
    return { evm, code };
  }

  test.each([
    ['desktop', 1280, 800],
    ['phone', 390, 844],
  ])(
    '%s (%i×%i): add a passkey, sign and send ETH and SOL with it, reset the PIN with it, user verification off refused, remove it',
    async (name, width, height) => {
      const { page, authenticator, consoleErrors, requests } = await open(width, height, { prf: true });
      const evm = await newWallet(page, `passkey-${name}@example.com`, '493817');
      // The page reports what the browser supports, in words, before any passkey is made.
      await page.locator('#passkey-support').filter({ hasText: 'This browser supports passkeys with PRF' }).waitFor();
      expect(await page.locator('#passkey-list li').count()).toBe(0);
      for (const hidden of ['#sign-passkey', '#send-passkey', '#send-sol-passkey', '#reset-passkey'])
        expect([hidden, await page.locator(hidden).isVisible()]).toEqual([hidden, false]);
      expect(await authenticator.credentials()).toEqual([]);

      // Add a passkey, authorized by the PIN.
      await page.click('#add-passkey');
      await pad(page, '493817');
      await page.locator('#passkey-list li').first().waitFor();
      expect(await page.textContent('#code-done')).toBe('Passkey added: you can sign with it. Your PIN still works.');
      const [credential] = await authenticator.credentials();
      expect(credential?.isResidentCredential).toBe(true);
      const listed = await page.getAttribute('#passkey-list li button', 'data-remove');
      expect(listed).toBe(b64url(credential!.credentialId));
      expect(requests.filter((r) => r.endsWith('/passkeys'))).toEqual([`POST /v1/wallets/${listedWallet(requests)}/passkeys`]);
      await noSideScroll(page);
      await page.screenshot({ path: `${artifacts}passkey-${name}-added.png`, fullPage: true });

      // Sign a message with it: the summary first, then the passkey; checked with viem.
      await page.locator('#sign-passkey').waitFor({ state: 'visible' });
      await page.fill('#message', `Signed with a passkey (${name})`);
      await page.click('#sign-passkey');
      expect(await summary(page)).toEqual({ Action: 'Sign a message (EVM)', Message: `Signed with a passkey (${name})` });
      expect(await page.locator('#pin-entry').isVisible()).toBe(false);
      await noSideScroll(page);
      await page.screenshot({ path: `${artifacts}passkey-${name}-approve.png` });
      const countBefore = credential!.signCount;
      await page.click('#passkey-ok');
      await page
        .locator('#signature')
        .filter({ hasText: /^0x[0-9a-f]{130}$/ })
        .waitFor();
      const signature = (await page.textContent('#signature')) as Hex;
      expect(await verifyMessage({ address: evm, message: `Signed with a passkey (${name})`, signature })).toBe(true);
      expect((await authenticator.credentials())[0]!.signCount).toBeGreaterThan(countBefore);

      // Send ETH with it (mined by anvil, from the wallet's address).
      await page.click('#fund');
      await page.locator('#balance').filter({ hasText: '1.0000 ETH' }).waitFor();
      await page.click('#send-passkey');
      expect(await summary(page)).toMatchObject({
        Action: 'Send an EVM transaction',
        Recipient: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
        Value: '0.01 ETH',
      });
      await page.click('#passkey-ok');
      await page
        .locator('#tx')
        .filter({ hasText: /mined in block \d+ \(success\)/ })
        .waitFor({ timeout: 20_000 });
      const hash = /0x[0-9a-f]{64}/.exec((await page.textContent('#tx'))!)![0] as Hex;
      const receipt = await createPublicClient({ chain: foundry, transport: http(`http://127.0.0.1:${stack.ports.LOCAL_CHAIN_PORT}`) }).getTransactionReceipt({
        hash,
      });
      expect(receipt.from).toBe(evm.toLowerCase());

      // Send SOL with it (confirmed by the local cluster, the recipient's balance up by the amount).
      const sol = (await page.textContent('#addr-solana'))!.trim();
      await page.click('#fund-sol');
      await page.locator('#balance-sol').filter({ hasText: '1.0000 SOL' }).waitFor();
      const before = await solanaBalance(SOL_RECIPIENT);
      await page.fill('#amount-sol', '0.03');
      await page.click('#send-sol-passkey');
      expect(await summary(page)).toMatchObject({
        Action: 'Sign a Solana transaction',
        Cluster: 'localnet',
        From: sol,
        To: SOL_RECIPIENT,
        Transfer: '0.03 SOL',
      });
      expect(await page.locator('#pin-entry').isVisible()).toBe(false);
      await page.click('#passkey-ok');
      await page
        .locator('#tx-sol')
        .filter({ hasText: /confirmed in slot \d+/ })
        .waitFor({ timeout: 20_000 });
      expect((await solanaBalance(SOL_RECIPIENT)) - before).toBe(30_000_000n);

      // Reset the PIN with the passkey: the old PIN is refused, the new one signs.
      await page.click('#reset-passkey');
      await pad(page, '270394');
      await pad(page, '270394');
      await page.locator('#code-done').filter({ hasText: 'New PIN set with your passkey' }).waitFor();
      await page.click('#sign');
      await pad(page, '493817');
      await page.locator('#sign-error').filter({ hasText: 'Wrong PIN' }).waitFor();
      await signWithPin(page, `Signed after a passkey reset (${name})`, '270394');
      expect(
        await verifyMessage({ address: evm, message: `Signed after a passkey reset (${name})`, signature: (await page.textContent('#signature')) as Hex }),
      ).toBe(true);

      // User verification off: the browser refuses, the page says so, nothing is signed and nothing is sent. (Last
      // use of this authenticator: Chromium's virtual authenticator keeps refusing once a verification failed, even
      // after setUserVerified(true).)
      await authenticator.setUserVerified(false);
      const sent = requests.length;
      await page.click('#sign-passkey');
      await page.click('#passkey-ok');
      await page.locator('#sign-error').waitFor({ state: 'visible' });
      expect(await page.textContent('#sign-error')).toBe(
        'No passkey was used: the prompt was closed or timed out, or your device did not verify you. Nothing was signed.',
      );
      expect(await page.textContent('#signature')).toBe('');
      expect(requests.slice(sent).filter((r) => r.startsWith('POST'))).toEqual([]);
      await page.screenshot({ path: `${artifacts}passkey-${name}-no-uv.png`, fullPage: true });

      // Remove it with the PIN (the passkey cannot be used any more): the list is empty and the passkey buttons go.
      await page.click('#passkey-list li button');
      await pad(page, '270394');
      await page.locator('#code-done').filter({ hasText: 'Passkey removed' }).waitFor();
      expect(await page.locator('#passkey-list li').count()).toBe(0);
      for (const gone of ['#sign-passkey', '#send-passkey', '#send-sol-passkey', '#reset-passkey'])
        expect([gone, await page.locator(gone).isVisible()]).toEqual([gone, false]);
      expect(requests.filter((r) => r.startsWith('DELETE'))).toEqual([`DELETE /v1/wallets/${listedWallet(requests)}/passkeys/${listed}`]);
      await noSideScroll(page);
      await page.screenshot({ path: `${artifacts}passkey-${name}-removed.png`, fullPage: true });
      expect(consoleErrors).toEqual([]);
      await page.close();
    },
    180_000,
  );

  test('a PIN reset with the recovery code removes the passkeys, and the page shows it at once (1280×800)', async () => {
    const { page, consoleErrors, requests } = await open(1280, 800, { prf: true });
    const { code } = await newWalletAndCode(page, 'reset-code@example.com', '493817');
    await page.locator('#passkey-support').filter({ hasText: 'This browser supports passkeys with PRF' }).waitFor();
    await page.click('#add-passkey');
    await pad(page, '493817');
    await page.locator('#passkey-list li').first().waitFor();
    expect(await page.locator('#sign-passkey').isVisible()).toBe(true);

    await page.click('#forgot');
    await page.fill('#forgot-code', code);
    await page.click('#forgot-ok');
    await pad(page, '270394');
    await pad(page, '270394');
    await page.locator('#code-title').filter({ hasText: 'New PIN set' }).waitFor();
    // Without signing out: the factors read again after the reset, no passkey listed, no passkey button.
    await page.locator('#passkey-list li').first().waitFor({ state: 'detached' });
    for (const gone of ['#sign-passkey', '#send-passkey', '#send-sol-passkey', '#reset-passkey'])
      expect([gone, await page.locator(gone).isVisible()]).toEqual([gone, false]);
    const reset = requests.findIndex((r) => r === `POST /v1/wallets/${listedWallet(requests)}/pin/reset`);
    expect(reset).toBeGreaterThan(-1);
    expect(requests.slice(reset + 1).some((r) => r.endsWith('/factors'))).toBe(true);
    // The new PIN signs.
    await signWithPin(page, 'Signed after a reset with the recovery code', '270394');
    await page.screenshot({ path: `${artifacts}passkey-reset-with-code.png`, fullPage: true });
    expect(consoleErrors).toEqual([]);
    await page.close();
  }, 120_000);

  test('an authenticator without PRF: said in words, no slot added, nothing sent (390×844)', async () => {
    const { page, authenticator, consoleErrors, requests } = await open(390, 844, { prf: false });
    await newWallet(page, 'no-prf@example.com', '493817');
    await page.locator('#passkey-support').filter({ hasText: 'This browser supports passkeys with PRF' }).waitFor();
    await page.click('#add-passkey');
    await pad(page, '493817');
    await page.locator('#wallet-error').waitFor({ state: 'visible' });
    expect(await page.textContent('#wallet-error')).toBe(
      'This passkey cannot open a wallet: its authenticator (or this browser) lacks the PRF extension. Nothing was added; keep using your PIN, or try another passkey.',
    );
    expect(await page.getAttribute('#wallet-error', 'data-code')).toBe('PASSKEY_PRF_UNSUPPORTED');
    expect(requests.filter((r) => r.includes('/passkeys'))).toEqual([]);
    expect(await page.locator('#passkey-list li').count()).toBe(0);
    expect(await page.locator('#sign-passkey').isVisible()).toBe(false);
    await noSideScroll(page);
    await page.screenshot({ path: `${artifacts}passkey-no-prf.png`, fullPage: true });
    // Signed out and in again: the wallet's factors, read afresh, hold no passkey.
    await page.click('#logout');
    await page.fill('#email', 'no-prf@example.com');
    await page.click('#login');
    await page.locator('#passkey-support').filter({ hasText: 'PRF' }).waitFor();
    await page.locator('#addr-evm').filter({ hasText: /^0x/ }).waitFor();
    expect(await page.locator('#passkey-list li').count()).toBe(0);
    expect((await authenticator.credentials()).length).toBeLessThanOrEqual(1);
    expect(consoleErrors).toEqual([]);
    await page.close();
  }, 90_000);
});

/** The wallet id in the page's API requests. */
function listedWallet(requests: string[]): string {
  return requests.find((r) => /\/v1\/wallets\/[^/]+\/factors$/.test(r))!.split('/')[3]!;
}
