/**
 * Memory back to the system when the enclave is idle (src/heap.ts): the C
 * addon (enclave/native/heap.c, compiled here as the image compiles it), its
 * loader, and the order and timing of the idle steps.
 */
import { jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IDLE_MAX_MS, IDLE_RELEASE_MS, IDLE_TRIM_MS, IdleTask, idleReleaseMs, loadHeapBinding, trimHeap, type HeapBinding } from '../src/heap.js';

const dir = mkdtempSync(join(tmpdir(), 'heap-addon-'));
const addonPath = join(dir, 'heap.node');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the C addon (enclave/native/heap.c), compiled here', () => {
  beforeAll(() => {
    const script = fileURLToPath(new URL('../../scripts/build-native.mjs', import.meta.url));
    const run = spawnSync(process.execPath, [script, 'heap', addonPath], { encoding: 'utf8' });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
  });

  test('it loads, says this C library has malloc_trim (glibc here), and trim() answers a boolean', () => {
    const loaded = loadHeapBinding(addonPath);
    expect(loaded).toEqual({ binding: expect.objectContaining({ supported: true }) });
    expect(typeof (loaded as { binding: HeapBinding }).binding.trim()).toBe('boolean');
  });

  test('trim() gives back free memory glibc holds below a live block, which nothing else returns', () => {
    // A child process: 96 MiB in 64-KiB buffers (below glibc's mmap threshold, so from the main heap), all freed but
    // the last, which keeps the heap's top in use: glibc holds the 96 MiB free until malloc_trim.
    const child = `
      const addon = require(${JSON.stringify(addonPath)});
      const rss = () => process.memoryUsage.rss() / 1048576;
      let blocks = Array.from({ length: 1536 }, () => Buffer.alloc(65536, 1));
      const last = Buffer.alloc(65536, 2);
      const held = rss();
      blocks = null;
      gc(); gc();
      const freed = rss();
      const released = addon.trim();
      const trimmed = rss();
      process.stdout.write(JSON.stringify({ held, freed, released, trimmed, keep: last[0] }));
    `;
    const run = spawnSync(process.execPath, ['--expose-gc', '-e', child], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const r = JSON.parse(run.stdout) as { held: number; freed: number; released: boolean; trimmed: number };
    expect(r.released).toBe(true);
    expect(r.freed - r.trimmed).toBeGreaterThan(64); // MiB given back by the trim
    expect(r.held - r.freed).toBeLessThan(32); // and not by the collection's free() alone
  });
});

describe('loadHeapBinding', () => {
  test('no addon (not built: no C compiler): unavailable, saying so', () => {
    expect(loadHeapBinding(join(dir, 'missing.node'))).toEqual({ unavailable: expect.stringMatching(/missing\.node not built/) });
  });

  test('a file that is not an addon: unavailable, with the loader’s reason', () => {
    const bogus = join(dir, 'bogus.node');
    writeFileSync(bogus, 'not an ELF file');
    expect(loadHeapBinding(bogus)).toEqual({ unavailable: expect.stringMatching(/invalid ELF header|file too short/) });
  });
});

describe('trimHeap', () => {
  const binding = (): HeapBinding & { calls: number } => {
    const b = { supported: true, calls: 0, trim: () => (b.calls++, true) };
    return b;
  };

  test('step 1 only trims; step 2 runs the memory-reducing collection, then trims; the report says what each did', () => {
    let collections = 0;
    const gc = (): void => void collections++;
    const b = binding();
    const sizes = [200, 150, 150, 120].map((m) => m * 1048576);
    const trim = trimHeap(b, 'trim', gc, () => sizes.shift()!);
    expect([collections, b.calls]).toEqual([0, 1]);
    const release = trimHeap(b, 'release', gc, () => sizes.shift()!);
    expect([collections, b.calls]).toEqual([1, 2]);
    expect(trim).toMatchObject({ step: 'trim', rssBeforeMiB: 200, rssAfterMiB: 150 });
    expect(release).toMatchObject({ step: 'release', rssBeforeMiB: 150, rssAfterMiB: 120 });
    for (const r of [trim, release]) {
      expect(r.gcMs).toBeGreaterThanOrEqual(0);
      expect(r.v8PhysicalMiB).toBeGreaterThan(0);
      expect(r.v8UsedMiB).toBeGreaterThan(0);
    }
  });

  test('without a collection (no --expose-gc) step 2 still trims, and reports none', () => {
    // null, not the process's own: whether a jest worker has `gc` depends on the test files it ran before.
    const b = binding();
    expect(trimHeap(b, 'release', null)).toMatchObject({ step: 'release', gcMs: 0 });
    expect(b.calls).toBe(1);
  });
});

describe('ENCLAVE_IDLE_RELEASE_MS', () => {
  test('unset or empty: 30 s; `off`: never; digits only, from the first step’s 250 ms to the longest timer', () => {
    expect([IDLE_TRIM_MS, IDLE_RELEASE_MS, IDLE_MAX_MS]).toEqual([250, 30_000, 2_147_483_647]);
    expect(idleReleaseMs(undefined)).toBe(30_000);
    expect(idleReleaseMs('')).toBe(30_000);
    expect(idleReleaseMs('off')).toBeUndefined();
    expect(idleReleaseMs('2000')).toBe(2000);
    expect(idleReleaseMs('250')).toBe(250);
    expect(idleReleaseMs('2147483647')).toBe(2_147_483_647);
    // A longer delay would make Node's timer fire after 1 ms, again and again.
    for (const bad of ['249', '2147483648', '3000000000', '-1', '1.5', '5s', 'never', '1e3', '0x400', ' 2000 ', '+500'])
      expect(() => idleReleaseMs(bad)).toThrow(/ENCLAVE_IDLE_RELEASE_MS must be a whole number of milliseconds from 250 to 2147483647, or off/);
  });
});

describe('IdleTask', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const make = (): { task: IdleTask; ran: string[]; errors: unknown[] } => {
    const ran: string[] = [];
    const errors: unknown[] = [];
    const task = new IdleTask(
      // Given out of order: run in order of their quiet times.
      [
        { afterMs: 5000, run: () => ran.push(`release@${Date.now()}`) },
        { afterMs: 250, run: () => ran.push(`trim@${Date.now()}`) },
      ],
      (err) => errors.push(err),
      () => Date.now(),
    );
    return { task, ran, errors };
  };

  test('after a request, each step runs once, when the enclave has been idle for its time', () => {
    const { task, ran } = make();
    const t0 = Date.now();
    task.busy();
    jest.advanceTimersByTime(100);
    task.done();
    jest.advanceTimersByTime(249);
    expect(ran).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(ran).toEqual([`trim@${t0 + 350}`]);
    jest.advanceTimersByTime(4749);
    expect(ran).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(ran).toEqual([`trim@${t0 + 350}`, `release@${t0 + 5100}`]);
    jest.advanceTimersByTime(60_000);
    expect(ran).toHaveLength(2); // once per idle period
  });

  test('nothing runs while a request is in flight, however long it takes; a new request starts the count again', () => {
    const { task, ran } = make();
    const t0 = Date.now();
    task.busy();
    task.busy();
    task.done(); // one of two done: still busy
    jest.advanceTimersByTime(10_000);
    expect(ran).toEqual([]);
    task.done(); // idle at t0 + 10 s
    jest.advanceTimersByTime(300);
    expect(ran).toEqual([`trim@${t0 + 10_250}`]);
    // A request 1 s later: the release waits 5 s from its end, and the trim runs again before it.
    jest.advanceTimersByTime(700);
    task.busy();
    jest.advanceTimersByTime(50);
    task.done(); // idle at t0 + 11 050
    jest.advanceTimersByTime(5_000);
    expect(ran).toEqual([`trim@${t0 + 10_250}`, `trim@${t0 + 11_300}`, `release@${t0 + 16_050}`]);
  });

  test('requests closer together than the first step’s time: no step runs', () => {
    const { task, ran } = make();
    for (let i = 0; i < 100; i++) {
      task.busy();
      jest.advanceTimersByTime(20);
      task.done();
      jest.advanceTimersByTime(200);
    }
    expect(ran).toEqual([]);
  });

  test('a step that throws is reported, and the next still runs', () => {
    const errors: unknown[] = [];
    const ran: string[] = [];
    const task = new IdleTask(
      [
        {
          afterMs: 10,
          run: () => {
            throw new Error('boom');
          },
        },
        { afterMs: 20, run: () => ran.push('second') },
      ],
      (err) => errors.push(err),
      () => Date.now(),
    );
    task.busy();
    task.done();
    jest.advanceTimersByTime(20);
    expect(errors).toEqual([new Error('boom')]);
    expect(ran).toEqual(['second']);
  });

  test('stop() (the server closing) cancels what is waiting, and a request that finishes after it arms nothing', () => {
    const { task, ran } = make();
    task.busy();
    task.done();
    task.stop();
    jest.advanceTimersByTime(10_000);
    expect(ran).toEqual([]);
    task.busy();
    task.done();
    jest.advanceTimersByTime(60_000);
    expect(ran).toEqual([]);
  });
});
