/**
 * Whether the PIN pad in an iframe is really seen by the user, and what a tap on it means then (docs/frame.md#limits).
 * The app owns the element around the frame and can make it transparent over a decoy; IntersectionObserver v2 tells
 * the frame whether its pad is covered, transparent, transformed or filtered, here or in the page around it, and its
 * intersection ratio whether all of it is on screen (v2 does not count a pad partly clipped as not visible).
 */

/** How long the pad must have been seen, unobstructed, before a tap on it counts. */
export const PAD_ARM_MS = 500;
/**
 * How long the pad must have been reported hidden, in all since it was last armed, before a tap on it ends the
 * request. A layout change (a phone turned, a window resized) can report the pad hidden for a moment while it is
 * moved: a tap then is not counted, and not taken for a trick either.
 */
export const HIDDEN_TAP_MS = 1000;
/**
 * How much of the pad must be on screen for it to count as seen. IntersectionObserver v2's `isVisible` stays true for
 * a target partly clipped: an app could slide the iframe up until the keys alone are on screen, the summary, the
 * asking origin and the dots above it, and have the user type the PIN beside a caption of its own.
 */
export const VISIBLE_RATIO = 0.99;

export type Seen = 'unknown' | 'unsupported' | 'hidden' | 'arming' | 'armed';

/**
 * What a tap on the pad does: `count` it; `wait` (not counted, and the digits typed so far cleared, so that a tap the
 * user made but the pad did not take cannot leave a PIN with a digit missing); or `refuse` the request (a tap on a pad
 * hidden for a while: the user is tapping something else, a decoy, over it).
 */
export function tapVerdict(seen: Seen, hiddenForMs: number): 'count' | 'wait' | 'refuse' {
  if (seen === 'armed') return 'count';
  if (seen === 'hidden' && hiddenForMs >= HIDDEN_TAP_MS) return 'refuse';
  return 'wait';
}

/**
 * A pad's watch: its state, and for how long (ms) it has been hidden since it was last armed, every stretch added up
 * (so that an app blinking the pad visible for a moment, too short to arm it, does not start the count again).
 */
export interface SeenWatch {
  seen(): Seen;
  hiddenFor(): number;
  stop(): void;
}

/**
 * Watches `target`: `armed` once it has been seen for PAD_ARM_MS without a break; `unsupported` when the browser does
 * not report visibility (`isVisible` undefined).
 */
export function watchSeen(target: Element, onChange: (seen: Seen) => void, now: () => number = () => performance.now()): SeenWatch {
  let seen: Seen = 'unknown';
  let hiddenSince = 0;
  /** Hidden time, in stretches that have ended, since the pad was last armed. */
  let hiddenBefore = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const set = (next: Seen): void => {
    if (next === seen) return;
    const t = now();
    if (seen === 'hidden') hiddenBefore += t - hiddenSince;
    if (next === 'hidden') hiddenSince = t;
    if (next === 'armed') hiddenBefore = 0;
    seen = next;
    onChange(seen);
  };
  const hiddenFor = (): number => hiddenBefore + (seen === 'hidden' ? now() - hiddenSince : 0);
  if (typeof IntersectionObserver !== 'function') {
    queueMicrotask(() => set('unsupported'));
    return { seen: () => seen, hiddenFor, stop: () => undefined };
  }
  const observer = new IntersectionObserver(
    (entries) => {
      const last = entries[entries.length - 1] as (IntersectionObserverEntry & { isVisible?: boolean }) | undefined;
      if (!last) return;
      if (last.isVisible === undefined || !last.isVisible || last.intersectionRatio < VISIBLE_RATIO) {
        clearTimeout(timer);
        return set(last.isVisible === undefined ? 'unsupported' : 'hidden');
      }
      // Still seen (another threshold crossed, a relayout): the arming under way goes on; only a hidden report stops it.
      if (seen === 'arming' || seen === 'armed') return;
      set('arming');
      timer = setTimeout(() => set('armed'), PAD_ARM_MS);
    },
    // trackVisibility and delay are IntersectionObserver v2 (Chromium); the DOM typings do not name them yet.
    { threshold: [0, VISIBLE_RATIO, 1], trackVisibility: true, delay: 100 } as IntersectionObserverInit,
  );
  observer.observe(target);
  return {
    seen: () => seen,
    hiddenFor,
    stop: () => {
      clearTimeout(timer);
      observer.disconnect();
    },
  };
}
