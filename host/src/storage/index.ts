/**
 * Storage on DynamoDB, single-table (docs/storage.md): `store.users`,
 * `store.wallets` and `store.sessions` over one table.
 */
import { Table, type StoreOptions } from './table.js';
import { Sessions } from './sessions.js';
import { Users } from './users.js';
import { Wallets } from './wallets.js';

export { tableDefinition, type StoreOptions } from './table.js';
export type { UserRecord } from './users.js';
export { Wallets, WALLET_CACHE_ENTRIES, type Account, type WalletRecord } from './wallets.js';
export type { RefreshRecord } from './sessions.js';

export class Store extends Table {
  readonly users: Users;
  readonly wallets: Wallets;
  readonly sessions: Sessions;

  constructor(options: StoreOptions) {
    super(options);
    this.users = new Users(this);
    this.wallets = new Wallets(this);
    this.sessions = new Sessions(this);
  }
}
