// An app on another origin than the wallet frame, as the frame's docs describe it (docs/frame.md): connectWallet, a
// login with the app's own ID token, a wallet, and a signature through the EIP-1193 provider. The PIN and the
// recovery code never reach this page. Plain JavaScript, no framework; the SDK's browser build.
import { connectWallet } from '/demo/client.js';

const $ = (id) => document.getElementById(id);
const config = await (await fetch('/demo/config.json')).json();
$('app-origin').textContent = location.origin;
$('frame-origin').textContent = config.frameOrigin ?? 'nowhere: the host has no FRAME_ORIGIN';
let wallet;

/**
 * An error in words in its card. The SDK's errors carry a stable `code` (a string); the provider's EIP-1193 errors a
 * number (4001: the user cancelled on the pad), with the wallet's own code in `data.code` (docs/frame.md).
 */
function show(where, err) {
  if (err?.code === 4001) return; // cancelled on the pad: nothing to say
  const code = typeof err?.code === 'string' ? err.code : err?.data?.code;
  const attemptsLeft = err?.attemptsLeft ?? err?.data?.attemptsLeft;
  const words = {
    FRAME_UNAVAILABLE: `The wallet frame did not answer. Is this page's origin (${location.origin}) in the frame's APP_ORIGINS?`,
    FRAME_CLOSED: 'The wallet window was closed. Connect again.',
    FRAME_NOT_VISIBLE: 'This browser cannot show the PIN pad safely inside this page: use “Connect in a popup”, then try again.',
    UNAUTHENTICATED: 'Sign in first.',
    PIN_INVALID: `Wrong PIN${typeof attemptsLeft === 'number' ? `: ${attemptsLeft} attempt${attemptsLeft === 1 ? '' : 's'} left` : ''}.`,
    PIN_LOCKED: 'Too many wrong PINs: the wallet is locked for a while. The recovery code sets a new PIN.',
  };
  const box = $(`${where}-error`);
  box.textContent = words[code] ?? `${err?.message ?? err}`;
  box.dataset.code = code ?? '';
  box.hidden = false;
}
const action = (where, button, fn) => async (event) => {
  event?.preventDefault();
  document.querySelectorAll('.error').forEach((e) => (e.hidden = true));
  button.disabled = true;
  try {
    await fn();
  } catch (err) {
    show(where, err);
  } finally {
    button.disabled = false;
  }
};
const selected = (account) => {
  $('address').textContent = account ?? 'none yet';
  $('sign').disabled = !account;
};

/** Connects in `mode` (auto: an iframe, a popup where no frame comes up; popup: a window of its own). */
const listening = new WeakSet();
const connect = (mode, button) =>
  action('connect', button, async () => {
    wallet = await connectWallet({ walletOrigin: config.frameOrigin, mode });
    $('connected').textContent = `Connected (${wallet.mode}); the provider is announced to wallet kits as “${wallet.info.name}”.`;
    $('connected').hidden = false;
    $('login').disabled = false;
    // The frame tells the provider's listeners when the selected account changes (a new wallet, another one). A
    // second click gets the same connection (connectWallet), which already has its listener.
    if (!listening.has(wallet)) {
      listening.add(wallet);
      wallet.provider.on('accountsChanged', (accounts) => selected(accounts[0]));
    }
  });
$('connect').addEventListener('click', connect('auto', $('connect')));
$('connect-popup').addEventListener('click', connect('popup', $('connect-popup')));

$('login-form').addEventListener(
  'submit',
  action('login', $('login'), async () => {
    const res = await fetch(`${config.issuerUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: $('email').value }),
    });
    if (!res.ok) throw new Error(`The dev issuer refused (${res.status}): is the local stack running?`);
    const { id_token: idToken } = await res.json();
    const { user } = await wallet.login(idToken);
    $('who').textContent = `Signed in as ${user.email}.`;
    $('who').hidden = false;
    $('create').disabled = false;
    $('use').disabled = false;
  }),
);

$('create').addEventListener(
  'click',
  action('wallet', $('create'), async () => {
    const made = await wallet.createWallet();
    selected(made.accounts.find((a) => a.network === 'evm')?.address);
  }),
);

$('use').addEventListener(
  'click',
  action('wallet', $('use'), async () => {
    const wallets = await wallet.listWallets();
    if (!wallets.length) throw new Error('No wallet yet: create one.');
    const [account] = await wallet.provider.request({ method: 'eth_requestAccounts' });
    selected(account);
  }),
);

$('sign-form').addEventListener(
  'submit',
  action('sign', $('sign'), async () => {
    const [account] = await wallet.provider.request({ method: 'eth_accounts' });
    const text = $('message').value;
    const hex = `0x${[...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
    $('signature').textContent = await wallet.provider.request({ method: 'personal_sign', params: [hex, account] });
  }),
);
