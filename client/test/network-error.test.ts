/**
 * NETWORK_ERROR says where from (src/session.ts): in a browser a refused CORS check fails a request exactly as a
 * network that is down does, and names its cause only in the console, so the error names the page's origin and the
 * host setting that decides it. (A stub `fetch` that fails as a browser's does; `location` as a page has it.)
 */
import { createClient } from '../src/index.js';

const failing = (): Promise<never> => Promise.reject(new TypeError('Failed to fetch'));
const root = new Uint8Array([0x30, 0x00]);

afterEach(() => {
  delete (globalThis as { location?: unknown }).location;
});

test('in a page: the API, the page’s origin and FRAME_ORIGIN are named', async () => {
  (globalThis as { location?: unknown }).location = { origin: 'http://127.0.0.1:8081' };
  const client = createClient({ baseUrl: 'http://127.0.0.1:8080', root, fetch: failing });
  await expect(client.login('id-token')).rejects.toMatchObject({
    code: 'NETWORK_ERROR',
    status: 0,
    message:
      "the API at http://127.0.0.1:8080 could not be reached from http://127.0.0.1:8081: the network, or the API does not answer CORS for this origin (the host's FRAME_ORIGIN)",
  });
});

test('outside a page (Node): the API alone', async () => {
  const client = createClient({ baseUrl: 'http://127.0.0.1:8080', root, fetch: failing });
  await expect(client.login('id-token')).rejects.toMatchObject({ code: 'NETWORK_ERROR', message: 'the API at http://127.0.0.1:8080 could not be reached' });
});
