// The demo page's script: the SDK's browser build, the dev issuer for a login,
// an on-screen PIN pad, and the local chain. Plain JavaScript, no framework.
import { AttestationError, createClient, describeApprovalSummary, EnclaveWalletApiError } from '/demo/client.js';

const $ = (id) => document.getElementById(id);
const config = await (await fetch('/demo/config.json')).json();
const root = new Uint8Array(await (await fetch('/demo/dev-root.der')).arrayBuffer());
// The SDK checks what the host prepares against a node the app chooses. A real app configures its own; this
// local demo takes the local chain's address from the page's configuration (served by the same local stack).
const client = createClient({ baseUrl: location.origin, root, ...(config.chain ? { rpc: { evm: { [config.chain.chainId]: config.chain.rpcUrl } } } : {}) });
let wallet;

// --- errors: the API's message, never a stack trace -------------------------
function showError(err) {
  let text;
  if (err instanceof EnclaveWalletApiError) {
    text = err.message;
    if (err.code === 'PIN_INVALID') text = `Wrong PIN: ${err.attemptsLeft} attempt${err.attemptsLeft === 1 ? '' : 's'} left.`;
    if (err.code === 'PIN_LOCKED') text = `Too many wrong PINs: the wallet is locked for ${err.retryAfter} s.`;
    text += ` (${err.code})`;
  } else if (err instanceof AttestationError) {
    text = `The enclave could not be verified (${err.code}); no PIN was sent.`;
  } else if (err && err.message === 'cancelled') {
    return;
  } else {
    text = err && err.message ? err.message : String(err);
  }
  $('error').textContent = text;
  $('error').hidden = false;
}
const clearError = () => {
  $('error').hidden = true;
};
const busy = async (button, fn) => {
  clearError();
  button.disabled = true;
  try {
    await fn();
  } catch (err) {
    showError(err);
  } finally {
    button.disabled = false;
  }
};

// --- the PIN pad: digits by click, so a PIN need not go through a keyboard --
// With a summary (from the SDK's getPin: decoded from the bytes the PIN will sign), it is shown above the keys,
// as text only.
function showSummary(summary) {
  const box = $('pin-summary');
  box.replaceChildren();
  box.hidden = !summary;
  $('pinpad').classList.toggle('with-summary', Boolean(summary));
  if (!summary) return;
  for (const { label, value } of describeApprovalSummary(summary)) {
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    dd.textContent = value;
    box.append(dt, dd);
  }
}
function askPin(title, summary) {
  return new Promise((resolve, reject) => {
    let pin = '';
    const dots = () => ($('pin-dots').textContent = '•'.repeat(pin.length));
    $('pin-title').textContent = title;
    showSummary(summary);
    dots();
    $('pinpad').hidden = false;
    const keys = [...document.querySelectorAll('[data-digit]')];
    const onDigit = (e) => {
      if (pin.length < 12) pin += e.currentTarget.dataset.digit;
      dots();
    };
    const onBack = () => {
      pin = pin.slice(0, -1);
      dots();
    };
    const done = (fn) => {
      $('pinpad').hidden = true;
      keys.forEach((k) => k.removeEventListener('click', onDigit));
      $('pin-back').removeEventListener('click', onBack);
      $('pin-ok').removeEventListener('click', onOk);
      $('pin-cancel').removeEventListener('click', onCancel);
      fn();
    };
    const onOk = () => done(() => resolve(pin));
    const onCancel = () => done(() => reject(new Error('cancelled')));
    keys.forEach((k) => k.addEventListener('click', onDigit));
    $('pin-back').addEventListener('click', onBack);
    $('pin-ok').addEventListener('click', onOk);
    $('pin-cancel').addEventListener('click', onCancel);
  });
}

// --- the local chain ------------------------------------------------------------
async function rpc(method, params) {
  const res = await fetch(config.chain.rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = await res.json();
  if (body.error) throw new Error(body.error.message);
  return body.result;
}
const formatEth = (wei) => {
  const s = wei.toString().padStart(19, '0');
  return `${s.slice(0, -18)}.${s.slice(-18, -14)} ETH`;
};
// The balance as the API reads it from the chain's node (GET /v1/wallets/{id}/balances).
async function showBalance() {
  if (!config.chain) {
    $('balance').textContent = 'no local chain (LOCAL_CHAIN=0)';
    $('fund').hidden = true;
    return;
  }
  const [native] = await client.getBalances(wallet.walletId, { network: 'evm', chainId: config.chain.chainId });
  $('balance').textContent = native ? `${formatEth(BigInt(native.amount)).replace(' ETH', '')} ${native.symbol}` : '—';
}

// --- the flow -------------------------------------------------------------------
function showWallet() {
  $('no-wallet').hidden = true;
  $('addresses').hidden = false;
  for (const n of ['evm', 'solana', 'bitcoin']) $(`addr-${n}`).textContent = wallet.accounts.find((a) => a.network === n)?.address ?? '—';
  $('sign-card').hidden = false;
  $('send-card').hidden = !config.chain;
  return showBalance();
}

$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void busy($('login'), async () => {
    const res = await fetch(`${config.issuerUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: $('email').value }),
    });
    if (!res.ok) throw new Error('the dev issuer refused the email');
    const { id_token: idToken } = await res.json();
    const session = await client.login(idToken);
    $('who').textContent = `Signed in as ${session.user.email}`;
    const att = await client.attestation();
    $('att-mode').textContent = att.mode;
    $('att-pcr0').textContent = att.pcrs['0'];
    $('att-module').textContent = att.moduleId;
    $('attestation-card').hidden = false;
    $('wallet-card').hidden = false;
    const wallets = await client.listWallets();
    wallet = wallets[0];
    if (wallet) await showWallet();
    else $('no-wallet').hidden = false;
  });
});

$('create').addEventListener('click', () =>
  busy($('create'), async () => {
    const pin = await askPin('Choose a PIN');
    const again = await askPin('Enter the PIN again');
    if (pin !== again) throw new Error('The two PINs differ; try again.');
    wallet = await client.createWallet(pin);
    await showWallet();
  }),
);

$('fund').addEventListener('click', () =>
  busy($('fund'), async () => {
    const evm = wallet.accounts.find((a) => a.network === 'evm').address;
    const current = BigInt(await rpc('eth_getBalance', [evm, 'latest']));
    await rpc('anvil_setBalance', [evm, '0x' + (current + 10n ** 18n).toString(16)]);
    await showBalance();
  }),
);

$('sign').addEventListener('click', () =>
  busy($('sign'), async () => {
    const getPin = ({ summary }) => askPin('Sign this message?', summary);
    const signature = await client.signEvmMessage(wallet.walletId, $('message').value, { getPin });
    $('signature').textContent = signature;
  }),
);

$('send').addEventListener('click', () =>
  busy($('send'), async () => {
    const [whole, frac = ''] = $('amount').value.trim().split('.');
    const wei = BigInt(whole || '0') * 10n ** 18n + BigInt((frac + '0'.repeat(18)).slice(0, 18));
    // The host prepares it (nonce, gas, fees); the SDK checks it is this transfer, hashes it itself, and only then
    // asks for the PIN, showing what the signed bytes say.
    const getPin = ({ summary }) => askPin('Send this transaction?', summary);
    const { hash } = await client.sendEvmTransaction(wallet.walletId, { chainId: config.chain.chainId, to: $('to').value.trim(), value: wei }, { getPin });
    $('tx').textContent = `sent ${hash}`;
    let receipt = null;
    for (let i = 0; i < 50 && !receipt; i++) {
      receipt = await rpc('eth_getTransactionReceipt', [hash]);
      if (!receipt) await new Promise((r) => setTimeout(r, 200));
    }
    $('tx').textContent = receipt
      ? `${hash} — mined in block ${BigInt(receipt.blockNumber)} (${receipt.status === '0x1' ? 'success' : 'reverted'})`
      : `${hash} — not mined yet`;
    await showBalance();
  }),
);
