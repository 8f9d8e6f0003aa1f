import { parseAddress } from '../src/address.js';
import { TransportError } from '../src/transport/types.js';
import { createVsockTransport, loadVsockBinding, VSOCK_NATIVE_PACKAGE } from '../src/transport/vsock.js';
import { transportSuite } from './transport-suite.js';
import { createVsockStandIn, type StandIn } from './vsock-standin.js';

let port = 6000;
let standIn: StandIn;

transportSuite('vsock (wrapper over a stand-in of the native addon)', () => {
  standIn = createVsockStandIn();
  return {
    transport: createVsockTransport(() => standIn.binding),
    listenAddress: () => `vsock://3:${port++}`,
    deadAddress: () => 'vsock://3:1',
    assertNoLeaks: () => expect(standIn.openSockets()).toBe(0),
  };
});

describe('vsock binding loading', () => {
  test('a missing addon is a TransportError UNAVAILABLE, raised on use and not on import', async () => {
    const transport = createVsockTransport(() => {
      throw new TransportError('UNAVAILABLE', `cannot load ${VSOCK_NATIVE_PACKAGE}`);
    });
    await expect(transport.connect(parseAddress('vsock://16:5005'))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(transport.listen(parseAddress('vsock://3:5005'), () => {})).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });

  test('the published addon loads on linux-x64 (without a device it is never used here)', () => {
    if (process.platform !== 'linux' || process.arch !== 'x64') return;
    const binding = loadVsockBinding();
    expect(typeof binding.VsockSocket).toBe('function');
  });

  test('a port already bound is LISTEN_FAILED', async () => {
    const s = createVsockStandIn();
    const transport = createVsockTransport(() => s.binding);
    const l = await transport.listen(parseAddress('vsock://3:7000'), () => {});
    await expect(transport.listen(parseAddress('vsock://3:7000'), () => {})).rejects.toMatchObject({ code: 'LISTEN_FAILED' });
    await l.close();
  });

  test('refuses addresses of another scheme', async () => {
    const transport = createVsockTransport(() => createVsockStandIn().binding);
    await expect(transport.connect(parseAddress('tcp://127.0.0.1:1'))).rejects.toBeInstanceOf(TypeError);
  });
});
