// The demo page's script: the SDK's browser build, the dev issuer for a login,
// an on-screen PIN pad, and the local chains (EVM and Solana). Plain JavaScript, no framework.
import { AttestationError, checkRecoveryCode, createClient, describeApprovalSummary, EnclaveWalletApiError } from '/demo/client.js';

const $ = (id) => document.getElementById(id);
const config = await (await fetch('/demo/config.json')).json();
const root = new Uint8Array(await (await fetch('/demo/dev-root.der')).arrayBuffer());
// The SDK checks what the host prepares against nodes the app chooses. A real app configures its own; this
// local demo takes the local chains' addresses from the page's configuration (served by the same local stack).
const rpc = {
  ...(config.chain ? { evm: { [config.chain.chainId]: config.chain.rpcUrl } } : {}),
  ...(config.solana ? { solana: { [config.solana.cluster]: config.solana.rpcUrl } } : {}),
};
const client = createClient({ baseUrl: location.origin, root, rpc });
let wallet;
let balances = { eth: undefined, sol: undefined };
/** The wallet's passkeys (credential ids, base64url), as the factors list gives them. */
let passkeys = [];
// WebAuthn refuses an IP address as the passkey's RP id: the page must be opened at a name (localhost here).
const ipHost = /^\d+\.\d+\.\d+\.\d+$|^\[/.test(location.hostname);

// --- errors: in words, next to what failed; never a stack trace ----------------
class Problem extends Error {}
const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
const capital = (s) => s.charAt(0).toUpperCase() + s.slice(1);
function inWords(err) {
  if (err instanceof Problem) return err.message;
  if (err instanceof AttestationError) return 'The enclave could not be verified, so no PIN was sent. Reload the page to try again.';
  if (!(err instanceof EnclaveWalletApiError)) {
    if (err instanceof TypeError) return 'The server could not be reached. Is the local stack running?';
    return 'Something went wrong in this page. Reload it and try again.';
  }
  switch (err.code) {
    case 'PIN_INVALID':
      return `Wrong PIN: ${plural(err.attemptsLeft, 'attempt')} left.`;
    case 'PIN_LOCKED':
      return `Too many wrong PINs: the wallet is locked for ${err.retryAfter} s. Forgot your PIN? Use your recovery code.`;
    case 'RECOVERY_CODE_INVALID':
      return 'That recovery code has a typo: it is 7 groups of 4 letters and digits. Check each group. Nothing was sent.';
    case 'RECOVERY_CODE_WRONG':
      return `That is not this wallet’s recovery code: ${plural(err.attemptsLeft, 'attempt')} left.`;
    case 'RECOVERY_LOCKED':
      return `Too many wrong recovery codes: try again in ${err.retryAfter} s.`;
    case 'FACTOR_NOT_FOUND':
      return err.status === 0 || err.message.includes('passkey')
        ? 'This wallet has no passkey (or not that one): add one with your PIN.'
        : 'This wallet has no recovery code yet: make one with your PIN (New recovery code).';
    case 'PASSKEY_PRF_UNSUPPORTED':
      return 'This passkey cannot open a wallet: its authenticator (or this browser) lacks the PRF extension. Nothing was added; keep using your PIN, or try another passkey.';
    case 'PASSKEY_CANCELLED':
      return 'No passkey was used: the prompt was closed or timed out, or your device did not verify you. Nothing was signed.';
    case 'PASSKEY_UNSUPPORTED':
      return `Passkeys do not work here: ${err.message.replace(/[;.] [Nn]othing was (sent|added)\.?$/, '')}. Use your PIN.`;
    case 'PASSKEY_RP_ID_INVALID':
      return `Passkeys need this page at a name, not an IP address: open http://localhost:${location.port}/demo.`;
    case 'PASSKEY_EXISTS':
      return 'This device already holds a passkey of this wallet.';
    case 'PASSKEY_LIMIT_REACHED':
      return 'This wallet has as many passkeys as it may have (8): remove one first.';
    case 'PASSKEY_INVALID':
      return `The passkey was refused by the enclave (${err.reason ?? 'check failed'})${err.attemptsLeft !== undefined ? `: ${plural(err.attemptsLeft, 'attempt')} left` : ''}. Nothing was signed.`;
    case 'PASSKEY_LOCKED':
      return `Too many failed passkey attempts: passkeys are locked for ${err.retryAfter} s. Your PIN still works.`;
    case 'RECOVERY_CODE_MISSING':
      return 'The new recovery code could not be read: make another one with your PIN (New recovery code).';
    case 'PIN_FORMAT_INVALID':
      return 'A PIN is 6 to 12 digits.';
    case 'PIN_TOO_WEAK':
      return 'That PIN is too easy to guess (one digit repeated, or a run like 123456). Choose another.';
    case 'INSUFFICIENT_FUNDS':
      return 'Not enough funds to pay the amount and the fee.';
    case 'RATE_LIMITED':
      return `Too many requests: try again in ${err.retryAfter ?? 'a few'} s.`;
    case 'UNAUTHENTICATED':
    case 'TOKEN_EXPIRED':
    case 'TOKEN_REVOKED':
      return 'Your session has ended: sign out and sign in again.';
    case 'TOKEN_INVALID':
      return 'The sign-in was refused: the ID token did not verify.';
    case 'ENCLAVE_UNAVAILABLE':
    case 'ENCLAVE_TIMEOUT':
    case 'SHUTTING_DOWN':
    case 'STORAGE_UNAVAILABLE':
    case 'KMS_UNAVAILABLE':
    case 'GUARD_UNAVAILABLE':
      return 'The wallet service is not available right now. Try again in a moment.';
    case 'CHAIN_UNAVAILABLE':
    case 'CHAIN_ERROR':
      return 'The chain’s node cannot be reached right now. Try again in a moment.';
    case 'TRANSACTION_REVERTED':
    case 'TRANSACTION_REJECTED':
      return `The network refused the transaction${err.reason ? `: ${err.reason}` : ''}. Nothing was sent.`;
    case 'NONCE_TOO_LOW':
    case 'FEE_TOO_LOW':
      return 'The network moved on while you approved it. Send again.';
    case 'PREPARED_TRANSACTION_MISMATCH':
      return 'The server prepared another transaction than the one asked for, so nothing was signed.';
    case 'VALIDATION_FAILED':
      return 'The server did not accept this request: check the recipient and the amount.';
    default:
      return `${capital(err.message.replace(/\.$/, ''))}.`;
  }
}
function showError(where, err) {
  if (err && err.message === 'cancelled') return;
  const box = $(`${where}-error`);
  box.textContent = inWords(err);
  box.dataset.code = err instanceof EnclaveWalletApiError ? err.code : '';
  box.hidden = false;
}
const clearErrors = () => document.querySelectorAll('.error').forEach((e) => (e.hidden = true));
/** Runs one action of a card: its button disabled meanwhile, its earlier result and errors cleared, a failure shown in the card. */
const busy = async (where, button, fn, output) => {
  clearErrors();
  if (output) $(output).textContent = '';
  // The wallet card's last success note ("Recovery code checked", "Passkey added") belongs to the action before.
  if (where === 'wallet' || where === 'forgot') $('code-done').hidden = true;
  button.disabled = true;
  try {
    await fn();
  } catch (err) {
    showError(where, err);
  } finally {
    button.disabled = false;
  }
};

// --- PIN rules, checked on the pad before anything is sent --------------------------
// As the enclave checks a new PIN (enclave/src/envelope/pin-envelope.ts): 6 to 12 digits; for a new PIN also not one
// digit repeated, nor a run going up or down by one (123456, 987654, 890123).
function pinProblem(pin, isNew) {
  if (pin.length < 6) return 'A PIN has at least 6 digits.';
  if (!isNew) return undefined;
  const d = [...pin].map(Number);
  if (d.every((x) => x === d[0])) return 'One digit repeated is too easy to guess. Choose another PIN.';
  for (const step of [1, 9])
    if (d.every((x, i) => i === 0 || x === (d[i - 1] + step) % 10)) return 'A run like 123456 is too easy to guess. Choose another PIN.';
  return undefined;
}

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
/**
 * Approval with a passkey (the SDK's `authorize` callback): the same overlay shows what will be signed, then
 * "Approve with passkey" hands over to the browser's passkey prompt.
 */
function askPasskey(title, summary) {
  return new Promise((resolve, reject) => {
    $('pin-title').textContent = title;
    showSummary(summary);
    $('pin-entry').hidden = true;
    $('passkey-entry').hidden = false;
    $('pinpad').hidden = false;
    const done = (fn) => {
      $('pinpad').hidden = true;
      $('pin-entry').hidden = false;
      $('passkey-entry').hidden = true;
      $('passkey-ok').removeEventListener('click', onOk);
      $('passkey-cancel').removeEventListener('click', onCancel);
      fn();
    };
    const onOk = () => done(() => resolve({ passkey: true }));
    const onCancel = () => done(() => reject(new Error('cancelled')));
    $('passkey-ok').addEventListener('click', onOk);
    $('passkey-cancel').addEventListener('click', onCancel);
  });
}
function askPin(title, { summary, isNew = false, forgot = false } = {}) {
  return new Promise((resolve, reject) => {
    let pin = '';
    const hint = (text) => ($('pin-hint').textContent = text ?? '');
    const dots = () => ($('pin-dots').textContent = '•'.repeat(pin.length));
    $('pin-title').textContent = title;
    $('pin-entry').hidden = false;
    $('passkey-entry').hidden = true;
    showSummary(summary);
    hint();
    dots();
    $('pin-forgot').hidden = !forgot;
    $('pinpad').hidden = false;
    const keys = [...document.querySelectorAll('[data-digit]')];
    const onDigit = (e) => {
      if (pin.length < 12) {
        pin += e.currentTarget.dataset.digit;
        hint(); // a refusal is about the PIN typed before: gone once the next one is being typed
      } else hint('A PIN has at most 12 digits.');
      dots();
    };
    const onBack = () => {
      pin = pin.slice(0, -1);
      hint();
      dots();
    };
    const done = (fn) => {
      $('pinpad').hidden = true;
      keys.forEach((k) => k.removeEventListener('click', onDigit));
      $('pin-back').removeEventListener('click', onBack);
      $('pin-ok').removeEventListener('click', onOk);
      $('pin-cancel').removeEventListener('click', onCancel);
      $('pin-forgot').removeEventListener('click', onForgot);
      fn();
    };
    const onOk = () => {
      const problem = pinProblem(pin, isNew);
      if (problem) {
        hint(problem);
        if (isNew) pin = '';
        dots();
        return;
      }
      done(() => resolve(pin));
    };
    const onCancel = () => done(() => reject(new Error('cancelled')));
    // "Forgot PIN?" on the pad: this request is cancelled, and the recovery form opens.
    const onForgot = () =>
      done(() => {
        reject(new Error('cancelled'));
        openForgot();
      });
    keys.forEach((k) => k.addEventListener('click', onDigit));
    $('pin-back').addEventListener('click', onBack);
    $('pin-ok').addEventListener('click', onOk);
    $('pin-cancel').addEventListener('click', onCancel);
    $('pin-forgot').addEventListener('click', onForgot);
  });
}

// --- the recovery code: shown once, one group typed back, then gone from the page ------------------
// `shown` holds the code only until the user has typed a group back (or signed out).
let shown;
const normalizeGroup = (text) => text.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
function showCode(code, title) {
  const groups = code.split('-');
  const index = Math.floor(Math.random() * groups.length);
  shown = { code, group: groups[index], index };
  $('code-title').textContent = title;
  $('recovery-code').textContent = code;
  $('code-ask').textContent = `To check, type group ${index + 1} of ${groups.length} of your code:`;
  $('code-ask').dataset.group = String(index + 1);
  $('code-show').hidden = false;
  $('code-check').hidden = true;
  $('code-done').hidden = true;
  $('code-box').hidden = false;
  $('code-box').scrollIntoView({ block: 'nearest' });
}
function forgetCode() {
  shown = undefined;
  $('recovery-code').textContent = '';
  $('code-group').value = '';
  $('code-hint').textContent = '';
  $('code-box').hidden = true;
}
$('code-written').addEventListener('click', () => {
  $('recovery-code').textContent = '';
  $('code-show').hidden = true;
  $('code-check').hidden = false;
  $('code-group').value = '';
  $('code-hint').textContent = '';
  $('code-group').focus();
});
$('code-again').addEventListener('click', () => {
  if (!shown) return;
  $('recovery-code').textContent = shown.code;
  $('code-check').hidden = true;
  $('code-show').hidden = false;
});
$('code-check').addEventListener('submit', (e) => {
  e.preventDefault();
  if (!shown) return;
  if (normalizeGroup($('code-group').value) !== shown.group) {
    $('code-hint').textContent = `That is not group ${shown.index + 1}. Look at what you wrote down, or show the code again.`;
    $('code-group').value = '';
    return;
  }
  forgetCode();
  $('code-done').textContent = 'Recovery code checked. It will not be shown again: keep it safe.';
  $('code-done').hidden = false;
});

// --- "Forgot PIN?": the recovery code and a new PIN -------------------------------------------------
function openForgot() {
  clearErrors();
  $('code-done').hidden = true;
  $('forgot-code').value = '';
  $('forgot-form').hidden = false;
  $('forgot-form').scrollIntoView({ block: 'nearest' });
  $('forgot-code').focus();
}

// --- the local chains (their nodes directly, as a faucet would) ----------------------
async function rpcCall(url, method, params) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  const body = await res.json();
  if (body.error) throw new Problem(`The local node refused ${method}: ${body.error.message}`);
  return body.result;
}
/** A decimal amount typed by a person, in the smallest unit; refused in words when it is not one. */
function parseAmount(text, decimals, symbol) {
  const m = /^(\d*)(?:\.(\d*))?$/.exec(text.trim());
  if (!m || (!m[1] && !m[2]) || (m[2] ?? '').length > decimals) throw new Problem(`Enter an amount of ${symbol} like 0.01 (at most ${decimals} decimals).`);
  const units = BigInt(m[1] || '0') * 10n ** BigInt(decimals) + BigInt(((m[2] ?? '') + '0'.repeat(decimals)).slice(0, decimals));
  if (units === 0n) throw new Problem(`Enter an amount of ${symbol} above 0.`);
  return units;
}
const format = (units, decimals, shown = 4) => {
  const s = units.toString().padStart(decimals + 1, '0');
  return `${s.slice(0, -decimals)}.${s.slice(-decimals, -decimals + shown)}`;
};
// The balances as the API reads them from the chains' nodes (GET /v1/wallets/{id}/balances).
async function showBalances() {
  if (config.chain) {
    const [native] = await client.getBalances(wallet.walletId, { network: 'evm', chainId: config.chain.chainId });
    balances.eth = native?.amount != null ? BigInt(native.amount) : undefined;
    $('balance').textContent = native ? `${format(BigInt(native.amount), 18)} ${native.symbol}` : '—';
  } else $('balance').textContent = 'no local chain (LOCAL_CHAIN=0)';
  if (config.solana) {
    const [native] = await client.getBalances(wallet.walletId, { network: 'solana', cluster: config.solana.cluster });
    balances.sol = native?.amount != null ? BigInt(native.amount) : undefined;
    $('balance-sol').textContent = native ? `${format(BigInt(native.amount), 9)} ${native.symbol}` : '—';
  } else $('balance-sol').textContent = 'no local Solana endpoint (LOCAL_CHAIN=0)';
  $('fund').hidden = !config.chain;
  $('fund-sol').hidden = !config.solana;
}

// --- passkeys ---------------------------------------------------------------------
/** The actions a passkey approves: shown while the wallet has one. */
const PASSKEY_BUTTONS = ['sign-passkey', 'send-passkey', 'send-sol-passkey', 'reset-passkey'];
/** The wallet's passkeys as the factors list has them, each with a Remove button; the passkey buttons shown when there is one. */
async function showPasskeys() {
  const factors = await client.listFactors(wallet.walletId);
  passkeys = factors.filter((f) => f.kind === 'passkey');
  const list = $('passkey-list');
  list.replaceChildren();
  for (const p of passkeys) {
    const li = document.createElement('li');
    const label = document.createElement('span');
    label.className = 'mono';
    label.textContent = `${p.credentialId.slice(0, 12)}… added ${p.createdAt ? p.createdAt.slice(0, 16).replace('T', ' ') : '—'}`;
    const remove = document.createElement('button');
    remove.className = 'small secondary';
    remove.textContent = 'Remove';
    remove.dataset.remove = p.credentialId;
    remove.addEventListener('click', () =>
      busy('wallet', remove, async () => {
        const pin = await askPin('Enter your PIN to remove this passkey');
        await client.removePasskey(wallet.walletId, p.credentialId, { pin });
        await showPasskeys();
        note('Passkey removed. Your PIN and recovery code are unchanged.');
      }),
    );
    li.append(label, remove);
    list.append(li);
  }
  const has = passkeys.length > 0;
  for (const id of PASSKEY_BUTTONS) $(id).hidden = !has;
}
async function showPasskeySupport() {
  if (ipHost) {
    $('passkey-support').textContent = `Passkeys do not work at an IP address: open http://localhost:${location.port}/demo.`;
    $('add-passkey').disabled = true;
    return;
  }
  const support = await client.passkeySupport();
  $('passkey-support').textContent = support.message;
  $('add-passkey').disabled = !support.webauthn || support.prf === false;
}
function note(text) {
  $('code-done').textContent = text;
  $('code-done').hidden = false;
}

// --- the flow -------------------------------------------------------------------
function showWallet() {
  $('no-wallet').hidden = true;
  $('has-wallet').hidden = false;
  for (const n of ['evm', 'solana', 'bitcoin']) $(`addr-${n}`).textContent = wallet.accounts.find((a) => a.network === n)?.address ?? '—';
  $('sign-card').hidden = false;
  $('send-card').hidden = !config.chain;
  $('send-sol-card').hidden = !config.solana;
  return Promise.all([showBalances(), showPasskeys(), showPasskeySupport()]);
}
/** Back to the page as it loads: signed out, nothing of the last user on screen. */
function signedOut() {
  wallet = undefined;
  forgetCode();
  $('forgot-form').hidden = true;
  $('forgot-code').value = '';
  $('code-done').hidden = true;
  balances = { eth: undefined, sol: undefined };
  passkeys = [];
  $('passkey-list').replaceChildren();
  for (const id of PASSKEY_BUTTONS) $(id).hidden = true;
  for (const id of ['attestation-card', 'wallet-card', 'sign-card', 'send-card', 'send-sol-card', 'no-wallet', 'has-wallet', 'signed-in']) $(id).hidden = true;
  for (const id of ['signature', 'tx', 'tx-sol', 'who', 'addr-evm', 'addr-solana', 'addr-bitcoin']) $(id).textContent = '';
  $('signed-out').hidden = false;
}

$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void busy('login', $('login'), async () => {
    const res = await fetch(`${config.issuerUrl}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: $('email').value }),
    });
    if (!res.ok) throw new Problem('The dev issuer refused this email address.');
    const { id_token: idToken } = await res.json();
    const session = await client.login(idToken);
    $('who').textContent = `Signed in as ${session.user.email}`;
    $('signed-out').hidden = true;
    $('signed-in').hidden = false;
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

$('logout').addEventListener('click', () =>
  busy('login', $('logout'), async () => {
    try {
      await client.logout();
    } finally {
      signedOut();
    }
  }),
);

$('create').addEventListener('click', () =>
  busy('wallet', $('create'), async () => {
    const pin = await askPin('Choose a PIN', { isNew: true });
    const again = await askPin('Enter the same PIN again');
    if (pin !== again) throw new Problem('The two PINs differ: nothing was created. Try again.');
    const created = await client.createWallet(pin);
    wallet = { walletId: created.walletId, accounts: created.accounts, createdAt: created.createdAt };
    showCode(created.recoveryCode, 'Your recovery code');
    await showWallet();
  }),
);

$('forgot').addEventListener('click', () => openForgot());
$('forgot-cancel').addEventListener('click', () => {
  $('forgot-code').value = '';
  $('forgot-form').hidden = true;
});
$('forgot-form').addEventListener('submit', (e) => {
  e.preventDefault();
  void busy('forgot', $('forgot-ok'), async () => {
    // A typo is caught here, before any PIN is asked or anything is sent.
    const code = checkRecoveryCode($('forgot-code').value);
    const pin = await askPin('Choose a new PIN', { isNew: true });
    const again = await askPin('Enter the same PIN again');
    if (pin !== again) throw new Problem('The two PINs differ: nothing was changed. Try again.');
    const next = await client.resetPin(wallet.walletId, code, pin);
    $('forgot-code').value = '';
    $('forgot-form').hidden = true;
    showCode(next, 'New PIN set. Your new recovery code (the old one no longer works)');
    // A reset with the code removes the wallet's passkeys: the list and the passkey buttons follow (after the code is
    // on screen, so that a failed read cannot hide it).
    await showPasskeys();
  });
});

$('new-code').addEventListener('click', () =>
  busy('wallet', $('new-code'), async () => {
    const pin = await askPin('Enter your PIN to make a new recovery code', { forgot: true });
    showCode(await client.newRecoveryCode(wallet.walletId, pin), 'Your new recovery code (the old one no longer works)');
  }),
);

$('fund').addEventListener('click', () =>
  busy('wallet', $('fund'), async () => {
    if (!wallet) throw new Problem('Create a wallet first.');
    const evm = wallet.accounts.find((a) => a.network === 'evm').address;
    const current = BigInt(await rpcCall(config.chain.rpcUrl, 'eth_getBalance', [evm, 'latest']));
    await rpcCall(config.chain.rpcUrl, 'anvil_setBalance', [evm, '0x' + (current + 10n ** 18n).toString(16)]);
    await showBalances();
  }),
);

$('fund-sol').addEventListener('click', () =>
  busy('wallet', $('fund-sol'), async () => {
    if (!wallet) throw new Problem('Create a wallet first.');
    const sol = wallet.accounts.find((a) => a.network === 'solana').address;
    await rpcCall(config.solana.rpcUrl, 'requestAirdrop', [sol, 1_000_000_000]);
    await showBalances();
  }),
);

$('sign').addEventListener('click', () =>
  busy(
    'sign',
    $('sign'),
    async () => {
      const getPin = ({ summary }) => askPin('Sign this message?', { summary, forgot: true });
      const signature = await client.signEvmMessage(wallet.walletId, $('message').value, { getPin });
      $('signature').textContent = signature;
    },
    'signature',
  ),
);

$('sign-passkey').addEventListener('click', () =>
  busy(
    'sign',
    $('sign-passkey'),
    async () => {
      const authorize = ({ summary }) => askPasskey('Sign this message with your passkey?', summary);
      const signature = await client.signEvmMessage(wallet.walletId, $('message').value, { authorize });
      $('signature').textContent = signature;
    },
    'signature',
  ),
);

$('add-passkey').addEventListener('click', () =>
  busy('wallet', $('add-passkey'), async () => {
    const pin = await askPin('Enter your PIN to add a passkey', { forgot: true });
    await client.addPasskey(wallet.walletId, { pin });
    await showPasskeys();
    note('Passkey added: you can sign with it. Your PIN still works.');
  }),
);

$('reset-passkey').addEventListener('click', () =>
  busy('wallet', $('reset-passkey'), async () => {
    const pin = await askPin('New PIN, then your passkey approves it', { isNew: true });
    const again = await askPin('Enter the same PIN again');
    if (pin !== again) throw new Problem('The two PINs differ: nothing was changed. Try again.');
    // The passkey authorizes the reset; the recovery code is kept.
    await client.resetPin(wallet.walletId, { passkey: true }, pin);
    note('New PIN set with your passkey. Your recovery code is unchanged.');
  }),
);

/** Sends ETH, approved on the PIN pad or (`withPasskey`) with a passkey. */
const sendEth = (button, withPasskey) =>
  busy(
    'send',
    button,
    async () => {
      const to = $('to').value.trim();
      if (!/^0x[0-9a-fA-F]{40}$/.test(to)) throw new Problem('The recipient is not an EVM address (0x and 40 hex digits).');
      const wei = parseAmount($('amount').value, 18, 'ETH');
      await showBalances();
      if (balances.eth !== undefined && balances.eth < wei)
        throw new Problem(`Not enough ETH: the balance is ${format(balances.eth, 18)} ETH. Get test ETH above.`);
      // The host prepares it (nonce, gas, fees); the SDK checks it is this transfer, hashes it itself, and only then
      // asks for the PIN, showing what the signed bytes say. Not asked when the balance cannot pay value and fees.
      const authorize = ({ summary }) => {
        const most = BigInt(summary.value.wei) + BigInt(summary.maxTotalFee.wei);
        if (balances.eth !== undefined && balances.eth < most) {
          throw new Problem(
            `Not enough ETH: ${summary.value.formatted} and at most ${summary.maxTotalFee.formatted} in fees, the balance is ${format(balances.eth, 18)} ETH.`,
          );
        }
        if (withPasskey) return askPasskey('Send this transaction with your passkey?', summary);
        return askPin('Send this transaction?', { summary, forgot: true }).then((pin) => ({ pin }));
      };
      const { hash } = await client.sendEvmTransaction(wallet.walletId, { chainId: config.chain.chainId, to, value: wei }, { authorize });
      $('tx').textContent = `sent ${hash}`;
      let receipt = null;
      for (let i = 0; i < 50 && !receipt; i++) {
        receipt = await rpcCall(config.chain.rpcUrl, 'eth_getTransactionReceipt', [hash]);
        if (!receipt) await new Promise((r) => setTimeout(r, 200));
      }
      $('tx').textContent = receipt
        ? `${hash} — mined in block ${BigInt(receipt.blockNumber)} (${receipt.status === '0x1' ? 'success' : 'reverted'})`
        : `${hash} — not mined yet`;
      await showBalances();
    },
    'tx',
  );
$('send').addEventListener('click', () => sendEth($('send'), false));
$('send-passkey').addEventListener('click', () => sendEth($('send-passkey'), true));

/** Sends SOL, approved on the PIN pad or (`withPasskey`) with a passkey. */
const sendSol = (button, withPasskey) =>
  busy(
    'send-sol',
    button,
    async () => {
      const to = $('to-sol').value.trim();
      if (!/^[1-9A-HJ-NP-Za-km-z]{32,44}$/.test(to)) throw new Problem('The recipient is not a Solana address (32 to 44 base58 characters).');
      const lamports = parseAmount($('amount-sol').value, 9, 'SOL');
      await showBalances();
      // A transfer pays 5000 lamports per signature on top of the amount.
      if (balances.sol !== undefined && balances.sol < lamports + 5000n) {
        throw new Problem(`Not enough SOL: the amount and a 0.000005 SOL fee, the balance is ${format(balances.sol, 9)} SOL. Get test SOL above.`);
      }
      const authorize = ({ summary }) =>
        withPasskey
          ? askPasskey('Send this transaction with your passkey?', summary)
          : askPin('Send this transaction?', { summary, forgot: true }).then((pin) => ({ pin }));
      const { signature } = await client.sendSolanaTransfer(wallet.walletId, { cluster: config.solana.cluster, to, lamports }, { authorize });
      $('tx-sol').textContent = `sent ${signature}`;
      const [status] = (await rpcCall(config.solana.rpcUrl, 'getSignatureStatuses', [[signature]])).value;
      $('tx-sol').textContent = status ? `${signature} — ${status.err ? 'failed' : `confirmed in slot ${status.slot}`}` : `${signature} — not confirmed yet`;
      await showBalances();
    },
    'tx-sol',
  );
$('send-sol').addEventListener('click', () => sendSol($('send-sol'), false));
$('send-sol-passkey').addEventListener('click', () => sendSol($('send-sol-passkey'), true));
