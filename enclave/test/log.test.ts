import { createLogger, formatLogLine, REDACTED } from '../src/log.js';

test('fields named like secrets are redacted whatever their value', () => {
  const line = JSON.parse(
    formatLogLine('info', 'x', { pin: '493817', mnemonic: 'abandon', sealedBlob: 'AAAA', walletId: 'w-1', pinEnvelope: 'e', kmsKeyId: 'k' }),
  );
  expect(line).toMatchObject({
    pin: REDACTED,
    mnemonic: REDACTED,
    sealedBlob: REDACTED,
    pinEnvelope: REDACTED,
    kmsKeyId: REDACTED,
    walletId: 'w-1',
    event: 'x',
    component: 'enclave',
  });
  expect(JSON.stringify(line)).not.toContain('493817');
});

test('non-primitive values never reach a log line, even under a harmless name', () => {
  const line = JSON.parse(formatLogLine('info', 'x', { detail: Buffer.from('seed bytes') as unknown as string, count: 3 }));
  expect(line.detail).toBe(REDACTED);
  expect(line.count).toBe(3);
});

test('levels below the threshold are dropped', () => {
  const lines: string[] = [];
  const log = createLogger('warn', (l) => lines.push(l));
  log.info('quiet');
  log.warn('loud');
  expect(lines.map((l) => JSON.parse(l).event)).toEqual(['loud']);
});
