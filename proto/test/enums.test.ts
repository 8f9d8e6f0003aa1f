/** The enumerations shared by host and enclave: every name round-trips, and anything else is an error, never a default. */
import { EnclaveWalletError, EVM_TX_TYPES, evmTxTypeFromProto, evmTxTypeToProto, NETWORKS, networkFromProto, networkToProto, v1 } from '../src/index.js';

test('every network and transaction type round-trips through its protobuf number, which the schema defines', () => {
  for (const n of NETWORKS) expect(networkFromProto(networkToProto(n))).toBe(n);
  for (const t of EVM_TX_TYPES) expect(evmTxTypeFromProto(evmTxTypeToProto(t))).toBe(t);
  expect(networkToProto('evm')).toBe(v1.Network.NETWORK_EVM);
  expect(evmTxTypeToProto('eip1559')).toBe(v1.EvmTransactionType.EVM_TRANSACTION_TYPE_EIP1559);
  // Every non-zero value of the schema's enums has a name here.
  const schemaNetworks = Object.values(v1.Network).filter((v) => typeof v === 'number' && v !== 0);
  expect(schemaNetworks.map((v) => networkFromProto(v as number)).sort()).toEqual([...NETWORKS].sort());
});

test.each([0, 4, 99, undefined, null])('network %s is NETWORK_UNSUPPORTED, not a default', (v) => {
  expect(() => networkFromProto(v)).toThrow(expect.objectContaining({ code: 'NETWORK_UNSUPPORTED' }));
});

test('unknown names and types are typed errors', () => {
  expect(() => networkToProto('dogecoin')).toThrow(EnclaveWalletError);
  expect(() => evmTxTypeToProto('eip4844')).toThrow(expect.objectContaining({ code: 'TRANSACTION_INVALID' }));
  expect(() => evmTxTypeFromProto(0)).toThrow(expect.objectContaining({ code: 'TRANSACTION_INVALID' }));
});
