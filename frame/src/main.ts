/**
 * The wallet frame's page script (docs/frame.md). Built by frame/scripts/build.mjs into one file whose hash the
 * build prints; served with the page from the frame's own origin (a static bucket behind a CDN in production,
 * devtools' frame server locally), never by the host. It reads its configuration from its own origin
 * (config.json: the API, APP_ORIGINS, the attestation root, the chain nodes), keeps the wallet session, and
 * is the only place a PIN is typed.
 */
import { createClient, describeApprovalSummary, type ApprovalSummary } from '../../client/src/index.js';
import { serveFrame, type FrameUi } from '../../client/src/frame/frame-side.js';
import { parseOrigins } from '../../client/src/frame/messages.js';

interface FrameConfig {
  apiUrl: string;
  appOrigins: string[];
  /** `aws`, or the path (on this origin) of a DER root: the local stack's dev root. */
  root: string;
  expectedPcrs?: Record<string, string>;
  evm?: { chainId: number; rpcUrl: string };
  solana?: { cluster: string; rpcUrl: string };
}

const $ = (id: string): HTMLElement => document.getElementById(id)!;
const params = new URLSearchParams(location.search);
const popup = params.get('mode') === 'popup' && window.opener !== null;
const embedded = window.parent !== window;
const root = document.documentElement;

// Appearance: only what the frame accepts (a theme, a #rrggbb accent), never markup or CSS text.
if (params.get('theme') === 'light') root.classList.add('light');
const accent = params.get('accent');
if (accent && /^#[0-9a-fA-F]{6}$/.test(accent)) root.style.setProperty('--accent', accent);
if (popup) root.classList.add('popup');

function pinProblem(pin: string, isNew: boolean): string | undefined {
  if (pin.length < 6) return 'A PIN has at least 6 digits.';
  if (!isNew) return undefined;
  const d = [...pin].map(Number);
  if (d.every((x) => x === d[0])) return 'One digit repeated is too easy to guess. Choose another PIN.';
  for (const step of [1, 9])
    if (d.every((x, i) => i === 0 || x === (d[i - 1]! + step) % 10)) return 'A run like 123456 is too easy to guess. Choose another PIN.';
  return undefined;
}

function showSummary(summary: ApprovalSummary | undefined): void {
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

/** One request at a time on the pad; a second waits for the first. */
let padQueue: Promise<unknown> = Promise.resolve();

const ui: FrameUi = {
  askPin({ title, summary, isNew = false, origin }) {
    const ask = (): Promise<string> =>
      new Promise<string>((resolve, reject) => {
        let pin = '';
        const hint = (text = ''): void => void ($('pin-hint').textContent = text);
        const dots = (): void => void ($('pin-dots').textContent = '•'.repeat(pin.length));
        $('pin-title').textContent = title;
        $('origin').textContent = `· for ${origin}`;
        showSummary(summary);
        hint();
        dots();
        $('idle').hidden = true;
        $('pinpad').hidden = false;
        const keys = [...document.querySelectorAll<HTMLButtonElement>('[data-digit]')];
        const digit = (d: string): void => {
          if (pin.length < 12) pin += d;
          else hint('A PIN has at most 12 digits.');
          dots();
        };
        const onDigit = (e: Event): void => digit((e.currentTarget as HTMLElement).dataset.digit!);
        const onBack = (): void => {
          pin = pin.slice(0, -1);
          hint();
          dots();
        };
        const onOk = (): void => {
          const problem = pinProblem(pin, isNew);
          if (problem) {
            hint(problem);
            if (isNew) pin = '';
            dots();
            return;
          }
          const chosen = pin;
          done(() => resolve(chosen));
        };
        const onCancel = (): void => done(() => reject(new Error('cancelled')));
        const onKey = (e: KeyboardEvent): void => {
          if (/^[0-9]$/.test(e.key)) digit(e.key);
          else if (e.key === 'Backspace') onBack();
          else if (e.key === 'Enter') onOk();
          else if (e.key === 'Escape') onCancel();
          else return;
          e.preventDefault();
        };
        const done = (then: () => void): void => {
          pin = '';
          dots();
          $('pinpad').hidden = true;
          $('idle').hidden = !popup;
          keys.forEach((k) => k.removeEventListener('click', onDigit));
          $('pin-back').removeEventListener('click', onBack);
          $('pin-ok').removeEventListener('click', onOk);
          $('pin-cancel').removeEventListener('click', onCancel);
          document.removeEventListener('keydown', onKey);
          then();
        };
        keys.forEach((k) => k.addEventListener('click', onDigit));
        $('pin-back').addEventListener('click', onBack);
        $('pin-ok').addEventListener('click', onOk);
        $('pin-cancel').addEventListener('click', onCancel);
        document.addEventListener('keydown', onKey);
        window.focus();
      });
    const turn = padQueue.then(ask, ask);
    padQueue = turn.catch(() => undefined);
    return turn;
  },
  showRecoveryCode(code) {
    return new Promise<void>((resolve) => {
      $('recovery-code').textContent = code;
      $('idle').hidden = true;
      $('code').hidden = false;
      const onWritten = (): void => {
        $('code-written').removeEventListener('click', onWritten);
        $('recovery-code').textContent = '';
        $('code').hidden = true;
        $('idle').hidden = !popup;
        resolve();
      };
      $('code-written').addEventListener('click', onWritten);
    });
  },
};

async function start(): Promise<void> {
  if (!embedded && !popup) {
    $('idle').hidden = false;
    $('idle-text').textContent = 'This is the wallet frame: apps open it with connectWallet.';
    return;
  }
  if (popup) $('idle').hidden = false;
  const config = (await (await fetch('config.json', { cache: 'no-store' })).json()) as FrameConfig;
  const appOrigins = parseOrigins(config.appOrigins);
  const rootDer = config.root === 'aws' ? 'aws' : new Uint8Array(await (await fetch(new URL(config.root, location.href))).arrayBuffer());
  const client = createClient({
    baseUrl: config.apiUrl,
    root: rootDer,
    ...(config.expectedPcrs ? { expectedPcrs: config.expectedPcrs } : {}),
    rpc: {
      ...(config.evm ? { evm: { [config.evm.chainId]: config.evm.rpcUrl } } : {}),
      ...(config.solana ? { solana: { [config.solana.cluster]: config.solana.rpcUrl } } : {}),
    },
  });
  serveFrame({
    client,
    appOrigins,
    peer: (popup ? window.opener : window.parent) as Window,
    events: window,
    ui,
    ...(config.evm ? { evm: config.evm } : {}),
    onIgnored: (reason, origin) => console.warn(`wallet frame: ignored a message from ${origin}: ${reason}`),
  });
  root.dataset.ready = 'true';
}

start().catch((err: unknown) => {
  console.error('wallet frame: could not start:', err instanceof Error ? err.message : String(err));
});
