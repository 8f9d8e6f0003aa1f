/**
 * The wallet frame's page script (docs/frame.md). Built by frame/scripts/build.mjs into one file whose hash the
 * build prints; served with the page from the frame's own origin (a static bucket behind a CDN in production,
 * devtools' frame server locally), never by the host. It reads its configuration from its own origin
 * (config.json: the API, APP_ORIGINS, the attestation root, the chain nodes), keeps the wallet session, and
 * is the only place a PIN is entered.
 *
 * In an iframe the app owns the element around the frame: it can keep keyboard focus on a field of its own, or
 * make the iframe invisible over a decoy. So there the PIN is entered by tapping the pad's buttons only (never the
 * keyboard), and a tap counts only while the browser reports the pad actually visible (IntersectionObserver v2)
 * and for at least PAD_ARM_MS (./seen.ts); without that report, the pad refuses and the app is told to use popup mode.
 */
import { createClient, describeApprovalSummary, type ApprovalSummary } from '../../client/src/index.js';
import { serveFrame, type FrameUi } from '../../client/src/frame/frame-side.js';
import { parseOrigins } from '../../client/src/frame/messages.js';
import { tapVerdict, watchSeen } from './seen.js';
import { parseRecoveryCode } from '../../client/src/proto-copy/recovery-code.js';

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

/** The frame's refusal when its pad is not (or cannot be known to be) seen: the app side maps FRAME_NOT_VISIBLE. */
const notVisible = (message: string): Error => Object.assign(new Error(message), { code: 'FRAME_NOT_VISIBLE' });

/** One request at a time on the pad; a second waits for the first. */
let padQueue: Promise<unknown> = Promise.resolve();

const ui: FrameUi = {
  askPin({ title, summary, isNew = false, origin }) {
    const ask = (): Promise<string> =>
      new Promise<string>((resolve, reject) => {
        let pin = '';
        /** A new PIN chosen (isNew), while the pad asks for it a second time; a typo there would lock the wallet. */
        let first: string | undefined;
        const hint = (text = ''): void => void ($('pin-hint').textContent = text);
        const dots = (): void => void ($('pin-dots').textContent = '•'.repeat(pin.length));
        $('pin-title').textContent = title;
        $('origin').textContent = `· for ${origin}`;
        showSummary(summary);
        hint();
        dots();
        $('idle').hidden = true;
        $('pin-note').hidden = popup;
        $('pinpad').hidden = false;
        // In the iframe: taps count only while the pad is seen (see watchSeen); in the popup, a window of its own, always.
        const watch = popup
          ? undefined
          : watchSeen($('pinpad').querySelector('.pad')!, (seen) => {
              $('pinpad').dataset.seen = seen;
              if (seen === 'unsupported')
                done(() =>
                  reject(
                    notVisible(
                      'this browser cannot tell whether the wallet frame is visible, so its PIN pad refuses input in an iframe: open the wallet with connectWallet({ mode: "popup" })',
                    ),
                  ),
                );
            });
        if (watch) $('pinpad').dataset.seen = watch.seen();
        /** Whether the pad's last word is that a tap was not taken: it stays while the PIN is typed again. */
        let settling = false;
        /** Whether a tap on the pad counts now; a tap on a pad hidden for a while ends the request (clickjacking). */
        const counts = (): boolean => {
          const verdict = watch ? tapVerdict(watch.seen(), watch.hiddenFor()) : 'count';
          if (verdict === 'count') return true;
          if (verdict === 'refuse') {
            done(() => reject(notVisible('the PIN pad was tapped while it was hidden, transparent or covered: nothing was entered')));
            return false;
          }
          // Not taken: what was typed so far goes too, so that the PIN sent never lacks a digit the user tapped.
          pin = '';
          dots();
          hint('Wait a moment for the pad to settle, then enter the PIN again.');
          settling = true;
          return false;
        };
        const keys = [...document.querySelectorAll<HTMLButtonElement>('[data-digit]')];
        const digit = (d: string): void => {
          if (pin.length < 12) {
            pin += d;
            if (!settling) hint(); // a refusal is about the PIN typed before: gone once the next one is being typed
          } else hint('A PIN has at most 12 digits.');
          dots();
        };
        const onDigit = (e: Event): void => {
          if (counts()) digit((e.currentTarget as HTMLElement).dataset.digit!);
        };
        const onBack = (): void => {
          if (!counts()) return;
          pin = pin.slice(0, -1);
          if (!settling) hint();
          dots();
        };
        const onOk = (): void => {
          if (!counts()) return;
          settling = false;
          hint();
          if (first !== undefined) {
            // The second entry of a new PIN: the same, or the choice starts again.
            const same = pin === first;
            first = undefined;
            if (!same) {
              pin = '';
              $('pin-title').textContent = title;
              hint('The two PINs differ. Choose a PIN again.');
              dots();
              return;
            }
            const chosen = pin;
            done(() => resolve(chosen));
            return;
          }
          const problem = pinProblem(pin, isNew);
          if (problem) {
            hint(problem);
            if (isNew) pin = '';
            dots();
            return;
          }
          if (isNew) {
            first = pin;
            pin = '';
            $('pin-title').textContent = 'Enter the same PIN again';
            hint();
            dots();
            return;
          }
          const chosen = pin;
          done(() => resolve(chosen));
        };
        const onCancel = (): void => done(() => reject(new Error('cancelled')));
        // The keyboard only in the popup (a top-level window of the frame's own): in an iframe the app can keep the focus.
        const onKey = (e: KeyboardEvent): void => {
          if (/^[0-9]$/.test(e.key)) digit(e.key);
          else if (e.key === 'Backspace') onBack();
          else if (e.key === 'Enter') onOk();
          else if (e.key === 'Escape') onCancel();
          else return;
          e.preventDefault();
        };
        let finished = false;
        const done = (then: () => void): void => {
          if (finished) return;
          finished = true;
          watch?.stop();
          delete $('pinpad').dataset.seen;
          pin = '';
          first = undefined;
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
        if (popup) {
          document.addEventListener('keydown', onKey);
          window.focus();
        }
      });
    const turn = padQueue.then(ask, ask);
    padQueue = turn.catch(() => undefined);
    return turn;
  },
  // Typed on the keyboard, so only in the popup: in an iframe the app could keep the focus and read it (resetPin then
  // answers FRAME_POPUP_REQUIRED without asking).
  ...(popup
    ? {
        askRecoveryCode({ origin }: { origin: string }): Promise<string> {
          const ask = (): Promise<string> =>
            new Promise<string>((resolve, reject) => {
              const input = $('recover-code') as HTMLInputElement;
              const hint = (text = ''): void => void ($('recover-hint').textContent = text);
              input.value = '';
              hint();
              $('recover-origin').textContent = `· for ${origin}`;
              $('idle').hidden = true;
              $('recover').hidden = false;
              input.focus();
              const onOk = (): void => {
                try {
                  parseRecoveryCode(input.value).fill(0);
                } catch (err) {
                  const why = err instanceof Error ? err.message : String(err);
                  hint(`${why.charAt(0).toUpperCase()}${why.slice(1)}. Check what you wrote down.`);
                  input.focus();
                  return;
                }
                const typed = input.value;
                finish(() => resolve(typed));
              };
              const onCancel = (): void => finish(() => reject(new Error('cancelled')));
              const onInput = (): void => hint(); // a refusal is about what was typed before
              const onKey = (e: KeyboardEvent): void => {
                if (e.key === 'Enter') onOk();
                else if (e.key === 'Escape') onCancel();
                else return;
                e.preventDefault();
              };
              const finish = (then: () => void): void => {
                $('recover-ok').removeEventListener('click', onOk);
                $('recover-cancel').removeEventListener('click', onCancel);
                input.removeEventListener('keydown', onKey);
                input.removeEventListener('input', onInput);
                input.value = '';
                hint();
                $('recover').hidden = true;
                $('idle').hidden = false;
                then();
              };
              $('recover-ok').addEventListener('click', onOk);
              $('recover-cancel').addEventListener('click', onCancel);
              input.addEventListener('keydown', onKey);
              input.addEventListener('input', onInput);
            });
          const turn = padQueue.then(ask, ask);
          padQueue = turn.catch(() => undefined);
          return turn;
        },
      }
    : {}),
  showRecoveryCode(code) {
    // In the pad's queue: two wallets made at once (a double tap, two tabs' requests) show their codes one after the
    // other, each acknowledged on its own, and never over a PIN pad.
    const show = (): Promise<void> =>
      new Promise<void>((resolve) => {
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
    const turn = padQueue.then(show, show);
    padQueue = turn.catch(() => undefined);
    return turn;
  },
};

async function start(): Promise<void> {
  if (!embedded && !popup) {
    // Opened by itself (a person following the stack's banner): a page of its own, not a transparent frame.
    document.documentElement.classList.add('direct');
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
    // In an iframe, Chromium and Safari name the embedding page's origin; Firefox does not (then each allowed one).
    ...(!popup && location.ancestorOrigins?.length ? { embedderOrigin: location.ancestorOrigins[0] } : {}),
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
