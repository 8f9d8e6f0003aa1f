import { jest } from '@jest/globals';
import { HIDDEN_TAP_MS, PAD_ARM_MS, tapVerdict, VISIBLE_RATIO, watchSeen, type Seen } from '../src/seen.js';

describe('the pad’s tap verdict (docs/frame.md#limits)', () => {
  test('a tap counts only on an armed pad', () => {
    expect(tapVerdict('armed', 0)).toBe('count');
    for (const seen of ['unknown', 'arming', 'unsupported'] as Seen[]) expect(tapVerdict(seen, 0)).toBe('wait');
  });

  test('a tap on a pad hidden for a moment (a layout change) is not taken; hidden for HIDDEN_TAP_MS or more, it ends the request', () => {
    expect(tapVerdict('hidden', 0)).toBe('wait');
    expect(tapVerdict('hidden', HIDDEN_TAP_MS - 1)).toBe('wait');
    expect(tapVerdict('hidden', HIDDEN_TAP_MS)).toBe('refuse');
    expect(tapVerdict('hidden', 60_000)).toBe('refuse');
  });
});

/** A stand-in for the browser's IntersectionObserver v2: the test says when the pad is seen and when not. */
class FakeObserver {
  static last: FakeObserver | undefined;
  disconnected = false;
  constructor(readonly callback: (entries: unknown[]) => void) {
    FakeObserver.last = this;
  }
  observe(): void {}
  disconnect(): void {
    this.disconnected = true;
  }
  report(isVisible: boolean | undefined, intersectionRatio = 1): void {
    this.callback([{ isVisible, intersectionRatio }]);
  }
}

describe('watchSeen', () => {
  const real = (globalThis as { IntersectionObserver?: unknown }).IntersectionObserver;
  beforeEach(() => {
    jest.useFakeTimers();
    (globalThis as { IntersectionObserver?: unknown }).IntersectionObserver = FakeObserver;
  });
  afterEach(() => {
    jest.useRealTimers();
    (globalThis as { IntersectionObserver?: unknown }).IntersectionObserver = real;
  });

  test('arms PAD_ARM_MS after the pad is seen; hidden restarts it, and hiddenFor counts from when it was hidden, until it arms again', () => {
    let clock = 0;
    const states: Seen[] = [];
    const watch = watchSeen(
      {} as Element,
      (s) => states.push(s),
      () => clock,
    );
    const io = FakeObserver.last!;
    expect(watch.seen()).toBe('unknown');
    io.report(true);
    expect(watch.seen()).toBe('arming');
    jest.advanceTimersByTime(PAD_ARM_MS - 1);
    expect(watch.seen()).toBe('arming');
    jest.advanceTimersByTime(1);
    expect(watch.seen()).toBe('armed');
    clock = 10_000;
    io.report(false);
    expect(watch.seen()).toBe('hidden');
    expect(watch.hiddenFor()).toBe(0);
    clock = 10_400;
    io.report(false); // still hidden: the clock of the hiding does not restart
    clock = 10_700;
    expect(watch.hiddenFor()).toBe(700);
    io.report(true);
    expect(watch.hiddenFor()).toBe(700); // kept until the pad arms again
    expect(watch.seen()).toBe('arming');
    // Hidden again before it armed: the arming timer must not arm a hidden pad.
    io.report(false);
    jest.advanceTimersByTime(PAD_ARM_MS * 2);
    expect(watch.seen()).toBe('hidden');
    expect(states).toEqual(['arming', 'armed', 'hidden', 'arming', 'hidden']);
    watch.stop();
    expect(io.disconnected).toBe(true);
  });

  test('a pad partly off screen is not seen, though v2 reports it visible (an app sliding the iframe so the keys alone show)', () => {
    const watch = watchSeen({} as Element, () => undefined);
    const io = FakeObserver.last!;
    io.report(true, 0.68);
    jest.advanceTimersByTime(PAD_ARM_MS * 4);
    expect(watch.seen()).toBe('hidden');
    io.report(true, VISIBLE_RATIO);
    jest.advanceTimersByTime(PAD_ARM_MS);
    expect(watch.seen()).toBe('armed');
    io.report(true, 0.5);
    expect(watch.seen()).toBe('hidden');
  });

  test('a second “seen” report while arming (a relayout) does not stop the arming (helper 80: the pad stayed arming for ever)', () => {
    const watch = watchSeen({} as Element, () => undefined);
    const io = FakeObserver.last!;
    io.report(true);
    jest.advanceTimersByTime(100);
    io.report(true);
    jest.advanceTimersByTime(PAD_ARM_MS - 100);
    expect(watch.seen()).toBe('armed');
  });

  test('hidden time adds up until the pad arms: blinking it visible for less than PAD_ARM_MS does not start the count again', () => {
    let clock = 0;
    const watch = watchSeen(
      {} as Element,
      () => undefined,
      () => clock,
    );
    const io = FakeObserver.last!;
    const verdicts: string[] = [];
    for (let cycle = 0; cycle < 5; cycle++) {
      io.report(false);
      clock += 300;
      verdicts.push(tapVerdict(watch.seen(), watch.hiddenFor()));
      io.report(true); // a blink, 150 ms: too short to arm
      clock += 150;
      jest.advanceTimersByTime(150);
    }
    // 300, 600, 900 ms hidden in all: not taken; 1,200 and 1,500: the request ends.
    expect(verdicts).toEqual(['wait', 'wait', 'wait', 'refuse', 'refuse']);
    // Once armed, the count starts again: a layout change's moment hidden is only not taken.
    jest.advanceTimersByTime(PAD_ARM_MS);
    expect(watch.seen()).toBe('armed');
    io.report(false);
    clock += 100;
    expect(watch.hiddenFor()).toBe(100);
    expect(tapVerdict(watch.seen(), watch.hiddenFor())).toBe('wait');
  });

  test('a browser that does not report isVisible: unsupported', () => {
    const watch = watchSeen({} as Element, () => undefined);
    FakeObserver.last!.report(undefined);
    expect(watch.seen()).toBe('unsupported');
  });
});
