import { AddressError, formatAddress, parseAddress } from '../src/address.js';

describe('parseAddress', () => {
  test.each([
    ['tcp://127.0.0.1:5005', { scheme: 'tcp', host: '127.0.0.1', port: 5005 }],
    ['tcp://localhost:0', { scheme: 'tcp', host: 'localhost', port: 0 }],
    ['tcp://[::1]:8080', { scheme: 'tcp', host: '::1', port: 8080 }],
    ['vsock://16:5005', { scheme: 'vsock', cid: 16, port: 5005 }],
    ['vsock://3:8000', { scheme: 'vsock', cid: 3, port: 8000 }],
  ])('%s', (text, parsed) => {
    expect(parseAddress(text)).toEqual(parsed);
    expect(formatAddress(parseAddress(text))).toBe(text);
  });

  test.each([
    '',
    '127.0.0.1:5005',
    'tcp://127.0.0.1',
    'tcp://127.0.0.1:70000',
    'udp://1.2.3.4:5',
    'vsock://x:5005',
    'vsock://16',
    'vsock://4294967296:1',
    'tcp://a b:1',
  ])('rejects %j', (text) => {
    expect(() => parseAddress(text)).toThrow(AddressError);
  });
});
