/**
 * The PIN prompt's summary, decoded from the bytes the envelope's digest
 * binds, checked against what independent code built: ERC-20 calls and
 * transactions encoded by viem, EIP-712 examples, Solana transfers compiled
 * by @solana/kit and the program clients, off-chain messages encoded and
 * decoded by @solana/offchain-messages.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { base58 } from '@scure/base';
import {
  address as kitAddress,
  getOffchainMessageDecoder,
  getOffchainMessageEncoder,
  offchainMessageApplicationDomain,
  verifyOffchainMessageEnvelope,
  type OffchainMessage,
} from '@solana/kit';
import { encodeFunctionData, erc20Abi, maxUint256, parseEther, serializeTransaction, type Address, type Hex } from 'viem';
import {
  decodeSolanaOffchainMessage,
  describeApprovalSummary,
  encodeSolanaOffchainMessage,
  formatUnits,
  summarizeEvmMessage,
  summarizeEvmTransaction,
  summarizeSolanaMessage,
  summarizeSolanaTransaction,
  summarizeTypedData,
} from '../src/index.js';
import { MAIL_EXAMPLE } from '../../test/support/eip712-mail.js';
import {
  ATTACKER,
  compileMessage,
  DESTINATION_TOKEN_ACCOUNT,
  fiveSolToAttacker,
  LOOKUP_TABLE,
  MINT,
  SOURCE_TOKEN_ACCOUNT,
  splTransfer,
  splTransferChecked,
  v0WithLookup,
} from '../../test/support/solana-messages.js';

const SIGNER = '0x9858EfFD232B4033E47d90003D41EC34EcaEda94';
const TOKEN = '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48' as Address;
const BOB = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as Address;
const eip1559 = (over: { to?: Address; value?: bigint; data?: Hex; chainId?: number }) =>
  serializeTransaction({ type: 'eip1559', chainId: 1, nonce: 7, gas: 60_000n, maxFeePerGas: 30_000_000_000n, maxPriorityFeePerGas: 1n, ...over });

describe('EVM transactions (viem-serialised)', () => {
  test('a value transfer: chain, recipient, value with the native symbol, the fee cap', () => {
    const s = summarizeEvmTransaction(eip1559({ to: BOB, value: parseEther('1.5') }), SIGNER);
    expect(s).toMatchObject({
      kind: 'evm-transaction',
      chain: { chainId: 1, name: 'Ethereum' },
      to: BOB,
      value: { wei: '1500000000000000000', symbol: 'ETH', formatted: '1.5 ETH' },
      call: undefined,
      nonce: 7,
      gas: '60000',
      maxFeePerGas: '30000000000',
      // gas × maxFeePerGas: what the user approves at most in fees (issue 25).
      maxTotalFee: { wei: '1800000000000000', symbol: 'ETH', formatted: '0.0018 ETH' },
    });
    expect(describeApprovalSummary(s)).toEqual(
      expect.arrayContaining([
        { label: 'Chain', value: 'Ethereum (1)' },
        { label: 'Recipient', value: BOB },
        { label: 'Value', value: '1.5 ETH' },
        { label: 'Max fee', value: '0.0018 ETH' },
      ]),
    );
    // Polygon's coin, and a chain the SDK does not know.
    expect(summarizeEvmTransaction(eip1559({ to: BOB, value: 10n ** 18n, chainId: 137 }), SIGNER).value.formatted).toBe('1 POL');
    expect(summarizeEvmTransaction(eip1559({ to: BOB, value: 1n, chainId: 999_999 }), SIGNER).chain).toEqual({ chainId: 999_999, name: undefined });
  });

  test('ERC-20 transfer, approve (limited and unlimited) and transferFrom encoded by viem are decoded with amounts and spender', () => {
    const call = (data: Hex) => summarizeEvmTransaction(eip1559({ to: TOKEN, data }), SIGNER).call;
    expect(call(encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [BOB, 1_000_000n] }))).toEqual({
      type: 'erc20-transfer',
      token: TOKEN,
      recipient: BOB,
      amount: '1000000',
    });
    expect(call(encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [BOB, 5n] }))).toEqual({
      type: 'erc20-approve',
      token: TOKEN,
      spender: BOB,
      amount: '5',
      unlimited: false,
    });
    const unlimited = summarizeEvmTransaction(
      eip1559({ to: TOKEN, data: encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [BOB, maxUint256] }) }),
      SIGNER,
    );
    expect(unlimited.call).toMatchObject({ type: 'erc20-approve', unlimited: true });
    expect(describeApprovalSummary(unlimited)).toEqual(
      expect.arrayContaining([
        { label: 'Call', value: 'ERC-20 approve' },
        { label: 'Spender', value: BOB },
        { label: 'Allowance', value: 'UNLIMITED' },
      ]),
    );
    expect(call(encodeFunctionData({ abi: erc20Abi, functionName: 'transferFrom', args: [SIGNER, BOB, 9n] }))).toEqual({
      type: 'erc20-transfer-from',
      token: TOKEN,
      from: SIGNER,
      recipient: BOB,
      amount: '9',
    });
    // A transfer selector with a dirty address word or extra bytes is not presented as a transfer.
    const transfer = encodeFunctionData({ abi: erc20Abi, functionName: 'transfer', args: [BOB, 1n] });
    expect(call(`${transfer}00`)).toMatchObject({ type: 'contract-call', selector: '0xa9059cbb', dataBytes: 69 });
    expect(call(`0xa9059cbb${'ff'.repeat(12)}${transfer.slice(34)}` as Hex)).toMatchObject({ type: 'contract-call' });
    expect(call('0xdeadbeef')).toEqual({ type: 'contract-call', contract: TOKEN, selector: '0xdeadbeef', dataBytes: 4 });
  });

  test('legacy (EIP-155) and EIP-2930 transactions, and a deployment', () => {
    const legacy = serializeTransaction({ type: 'legacy', chainId: 31337, nonce: 0, gas: 21_000n, gasPrice: 2n, to: BOB, value: 3n });
    expect(summarizeEvmTransaction(legacy, SIGNER)).toMatchObject({ type: 'legacy', chain: { chainId: 31337 }, maxFeePerGas: '2', value: { wei: '3' } });
    const a2930 = serializeTransaction({ type: 'eip2930', chainId: 10, nonce: 1, gas: 21_000n, gasPrice: 5n, to: BOB, accessList: [] });
    expect(summarizeEvmTransaction(a2930, SIGNER)).toMatchObject({ type: 'eip2930', chain: { chainId: 10, name: 'OP Mainnet' } });
    const deploy = summarizeEvmTransaction(eip1559({ data: '0x6080604052' }), SIGNER);
    expect(deploy).toMatchObject({ to: null, call: { type: 'deploy', dataBytes: 5 } });
  });
});

describe('EVM messages and typed data', () => {
  test('text is shown as text; bytes that are not plain text (binary, control or bidi-override characters) as hex', () => {
    expect(summarizeEvmMessage(new TextEncoder().encode('Sign in to Example\nnonce 7'), SIGNER).message).toEqual({
      encoding: 'utf-8',
      text: 'Sign in to Example\nnonce 7',
      bytes: 26,
    });
    expect(summarizeEvmMessage(Uint8Array.of(1, 2, 0xff), SIGNER).message).toEqual({ encoding: 'hex', text: '0x0102ff', bytes: 3 });
    expect(summarizeEvmMessage(new TextEncoder().encode('pay \u202egnp.exe'), SIGNER).message.encoding).toBe('hex');
    expect(summarizeEvmMessage(new TextEncoder().encode('a\u0000b'), SIGNER).message.encoding).toBe('hex');
  });

  test('EIP-712: the EIP’s Mail example and an ERC-2612 Permit: domain, primary type, fields', () => {
    const mail = summarizeTypedData(MAIL_EXAMPLE, SIGNER);
    expect(mail).toMatchObject({
      kind: 'evm-typed-data',
      domain: { name: 'Ether Mail', version: '1', chainId: '1', verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' },
      primaryType: 'Mail',
      fields: [
        { name: 'from', type: 'Person', value: '{"name":"Cow","wallet":"0xCD2a3d9F938E13CD947Ec05AbC7FE734Df8DD826"}' },
        { name: 'to', type: 'Person', value: '{"name":"Bob","wallet":"0xbBbBBBBbbBBBbbbBbbBbbbbBBbBbbbbBbBbbBBbB"}' },
        { name: 'contents', type: 'string', value: 'Hello, Bob!' },
      ],
    });
    const permit = summarizeTypedData(
      {
        domain: { name: 'USD Coin', version: '2', chainId: 1, verifyingContract: TOKEN },
        types: {
          Permit: [
            { name: 'owner', type: 'address' },
            { name: 'spender', type: 'address' },
            { name: 'value', type: 'uint256' },
            { name: 'nonce', type: 'uint256' },
            { name: 'deadline', type: 'uint256' },
          ],
        },
        primaryType: 'Permit',
        message: { owner: SIGNER, spender: BOB, value: maxUint256, nonce: 0n, deadline: 1795000000n },
      },
      SIGNER,
    );
    expect(permit.fields.map((f) => [f.name, f.value])).toEqual([
      ['owner', SIGNER],
      ['spender', BOB],
      ['value', maxUint256.toString()],
      ['nonce', '0'],
      ['deadline', '1795000000'],
    ]);
    expect(describeApprovalSummary(permit)).toEqual(
      expect.arrayContaining([
        { label: 'Action', value: 'Sign typed data: Permit' },
        { label: 'Domain', value: 'USD Coin v2' },
        { label: 'spender', value: BOB },
      ]),
    );
  });
});

describe('Solana (messages compiled by @solana/kit)', () => {
  const PAYER = 'HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk';

  test('a SOL transfer: from, to, lamports as SOL, the System Program', () => {
    const s = summarizeSolanaTransaction(fiveSolToAttacker(PAYER), PAYER, 'localnet');
    expect(s).toMatchObject({
      kind: 'solana-transaction',
      cluster: 'localnet',
      version: 'legacy',
      feePayer: PAYER,
      programs: [{ id: '11111111111111111111111111111111', name: 'System Program' }],
      transfers: [{ program: 'system', from: PAYER, to: ATTACKER, amount: '5000000000', symbol: 'SOL', formatted: '5 SOL' }],
      instructions: 1,
      lookupTables: 0,
    });
    expect(describeApprovalSummary(s)).toEqual(
      expect.arrayContaining([
        { label: 'Cluster', value: 'localnet' },
        { label: 'Transfer', value: '5 SOL' },
        { label: 'To', value: ATTACKER },
      ]),
    );
    expect(s.recentBlockhash).toMatch(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/);
    // Without a cluster the SDK checked, the prompt says so rather than leave the line out.
    expect(describeApprovalSummary(summarizeSolanaTransaction(fiveSolToAttacker(PAYER), PAYER))).toContainEqual({
      label: 'Cluster',
      value: 'not checked (the app built the transaction)',
    });
  });

  test('SPL Transfer and TransferChecked, and a v0 message whose recipient comes from a lookup table', () => {
    const spl = summarizeSolanaTransaction(compileMessage(0, PAYER, [splTransfer(PAYER, 42n), splTransferChecked(PAYER, 1_500_000n, 6)]), PAYER);
    expect(spl.programs).toEqual([{ id: 'TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA', name: 'SPL Token' }]);
    expect(spl.transfers).toEqual([
      {
        program: 'spl-token',
        from: SOURCE_TOKEN_ACCOUNT,
        to: DESTINATION_TOKEN_ACCOUNT,
        amount: '42',
        symbol: undefined,
        formatted: undefined,
        authority: PAYER,
      },
      {
        program: 'spl-token',
        from: SOURCE_TOKEN_ACCOUNT,
        to: DESTINATION_TOKEN_ACCOUNT,
        amount: '1500000',
        symbol: undefined,
        formatted: '1.5',
        mint: MINT,
        authority: PAYER,
      },
    ]);
    const v0 = summarizeSolanaTransaction(v0WithLookup(PAYER), PAYER);
    expect(v0.version).toBe(0);
    expect(v0.lookupTables).toBe(1);
    expect(v0.transfers[0]).toMatchObject({ from: PAYER, to: `${LOOKUP_TABLE}#0`, amount: '1000', formatted: '0.000001 SOL' });
    expect(v0.programs.map((p) => p.name)).toEqual(['System Program', 'SPL Token']);
  });

  test('a message: text or hex', () => {
    expect(summarizeSolanaMessage(new TextEncoder().encode('Sign in to Example'), PAYER)).toEqual({
      kind: 'solana-message',
      network: 'solana',
      signer: PAYER,
      message: { encoding: 'utf-8', text: 'Sign in to Example', bytes: 18 },
      offchain: undefined,
    });
    expect(summarizeSolanaMessage(Uint8Array.of(0xde, 0xad, 0xbe, 0xef), PAYER).message).toEqual({ encoding: 'hex', text: '0xdeadbeef', bytes: 4 });
  });
});

describe('Solana off-chain messages, against @solana/offchain-messages', () => {
  const key = ed25519.utils.randomSecretKey();
  const signer = base58.encode(ed25519.getPublicKey(key));
  const other = 'HAgk14JpMQLgt6rVgv7cBQFJWFto5Dqxi472uT3DKpqk';

  test('what we encode, kit decodes (v1; v0 in each format) and verifies once signed', async () => {
    const v1 = encodeSolanaOffchainMessage({ text: 'Sign in to Example', signers: [other, signer] });
    expect(getOffchainMessageDecoder().decode(v1)).toMatchObject({
      version: 1,
      content: 'Sign in to Example',
      requiredSignatories: expect.arrayContaining([{ address: signer }, { address: other }]),
    });
    const domain = base58.encode(new Uint8Array(32).fill(9));
    for (const [text, format] of [
      ['plain ascii', 0],
      ['café ☕', 1],
      ['x'.repeat(2000), 2],
    ] as const) {
      const v0 = encodeSolanaOffchainMessage({ text, signers: [signer], version: 0, applicationDomain: domain });
      expect(getOffchainMessageDecoder().decode(v0)).toMatchObject({
        version: 0,
        applicationDomain: domain,
        content: { format, text },
        requiredSignatories: [{ address: signer }],
      });
    }
    const message = encodeSolanaOffchainMessage({ text: 'I approve', signers: [signer] });
    await expect(
      verifyOffchainMessageEnvelope({ content: message as never, signatures: { [kitAddress(signer)]: ed25519.sign(message, key) as never } }),
    ).resolves.toBeUndefined();
  });

  test('what kit encodes, we decode, and the summary shows its text and header', () => {
    const kitV0: OffchainMessage = {
      version: 0,
      applicationDomain: offchainMessageApplicationDomain(other),
      content: { format: 1, text: 'Approve login ✓' },
      requiredSignatories: [{ address: kitAddress(signer) }],
    } as never;
    const bytes = new Uint8Array(getOffchainMessageEncoder().encode(kitV0));
    expect(decodeSolanaOffchainMessage(bytes)).toEqual({ version: 0, applicationDomain: other, format: 'utf-8', signers: [signer], text: 'Approve login ✓' });
    const kitV1 = new Uint8Array(
      getOffchainMessageEncoder().encode({ version: 1, content: 'hello', requiredSignatories: [{ address: kitAddress(signer) }] } as never),
    );
    const summary = summarizeSolanaMessage(kitV1, signer);
    expect(summary.offchain).toEqual({ version: 1, signers: [signer] });
    expect(summary.message).toEqual({ encoding: 'utf-8', text: 'hello', bytes: 5 });
    expect(describeApprovalSummary(summary)[0]).toEqual({ label: 'Action', value: 'Sign an off-chain message (v1)' });
    // Not an off-chain message: a wrong length, another version, no domain.
    expect(decodeSolanaOffchainMessage(bytes.subarray(0, -1))).toBeUndefined();
    expect(decodeSolanaOffchainMessage(Uint8Array.from([...bytes.subarray(0, 16), 2, ...bytes.subarray(17)]))).toBeUndefined();
    expect(decodeSolanaOffchainMessage(new TextEncoder().encode('solana offchain hello'))).toBeUndefined();
  });
});

test('formatUnits', () => {
  expect(formatUnits(0n, 18)).toBe('0');
  expect(formatUnits(1n, 9)).toBe('0.000000001');
  expect(formatUnits(1_500_000_000n, 9)).toBe('1.5');
  expect(formatUnits(42n, 0)).toBe('42');
});
