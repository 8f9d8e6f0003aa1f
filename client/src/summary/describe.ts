/** The PIN prompt's summary in words: labelled lines, in the order a person should read them. */
import type { ApprovalSummary } from '../summary.js';
import type { EvmTransactionSummary } from './evm.js';

/**
 * The summary as labelled lines, in the order a person should read them
 * (what the demo's PIN pad shows). Values are plain text: render them as
 * text, never as HTML.
 */
export function describeApprovalSummary(summary: ApprovalSummary): Array<{ label: string; value: string }> {
  const lines: Array<{ label: string; value: string }> = [];
  const add: AddLine = (label, value) => {
    if (value !== undefined) lines.push({ label, value });
  };
  switch (summary.kind) {
    case 'evm-transaction':
      describeEvmTransaction(summary, add);
      break;
    case 'evm-message':
      add('Action', 'Sign a message (EVM)');
      add(summary.message.encoding === 'utf-8' ? 'Message' : 'Message (hex)', summary.message.text);
      break;
    case 'evm-typed-data':
      add('Action', `Sign typed data: ${summary.primaryType}`);
      add('Domain', [summary.domain.name, summary.domain.version && `v${summary.domain.version}`].filter(Boolean).join(' ') || undefined);
      add('Chain', summary.domain.chainId);
      add('Contract', summary.domain.verifyingContract);
      for (const f of summary.fields) add(f.name, f.value);
      break;
    case 'solana-transaction':
      add('Action', 'Sign a Solana transaction');
      add('Cluster', summary.cluster ?? 'not checked (the app built the transaction)');
      add('Fee payer', summary.feePayer);
      for (const t of summary.transfers) {
        add('Transfer', `${t.formatted !== undefined ? t.formatted : t.amount}${t.symbol ? '' : ` (${t.mint ? `mint ${t.mint}` : "token's smallest unit"})`}`);
        add('From', t.from);
        add('To', t.to);
      }
      add('Programs', summary.programs.map((p) => p.name ?? p.id).join(', ') || 'none');
      if (summary.lookupTables) add('Lookup tables', `${summary.lookupTables} (accounts shown as table#index)`);
      break;
    case 'solana-message':
      add('Action', summary.offchain ? `Sign an off-chain message (v${summary.offchain.version})` : 'Sign a message (Solana)');
      add(summary.message.encoding === 'utf-8' ? 'Message' : 'Message (hex)', summary.message.text);
      break;
  }
  return lines;
}

type AddLine = (label: string, value: string | undefined) => void;

function describeEvmTransaction(summary: EvmTransactionSummary, add: AddLine): void {
  add('Action', 'Send an EVM transaction');
  add('Chain', `${summary.chain.name ?? 'chain'} (${summary.chain.chainId})`);
  const c = summary.call;
  if (c?.type === 'erc20-transfer') {
    add('Call', 'ERC-20 transfer');
    add('Token', c.token);
    add('Recipient', c.recipient);
    add('Amount', `${c.amount} (token's smallest unit)`);
  } else if (c?.type === 'erc20-transfer-from') {
    add('Call', 'ERC-20 transferFrom');
    add('Token', c.token);
    add('From', c.from);
    add('Recipient', c.recipient);
    add('Amount', `${c.amount} (token's smallest unit)`);
  } else if (c?.type === 'erc20-approve') {
    add('Call', 'ERC-20 approve');
    add('Token', c.token);
    add('Spender', c.spender);
    add('Allowance', c.unlimited ? 'UNLIMITED' : `${c.amount} (token's smallest unit)`);
  } else if (c?.type === 'deploy') {
    add('Call', `Deploy a contract (${c.dataBytes} bytes)`);
  } else {
    add('Recipient', summary.to ?? undefined);
    if (c?.type === 'contract-call') add('Call', `Contract call ${c.selector} (${c.dataBytes} bytes of data)`);
  }
  add('Value', summary.value.formatted);
  add('Max fee', summary.maxTotalFee.formatted);
}
