/** User profiles: one item per user, keyed `USER#<id>` / `PROFILE`. */
import { GetItemCommand, UpdateItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { unavailable, type Table } from './table.js';

export interface UserRecord {
  userId: string;
  email: string;
  provider: string;
  issuer: string;
  subject: string;
  createdAt: string;
}

const userKey = (userId: string): Record<string, AttributeValue> => ({ pk: { S: `USER#${userId}` }, sk: { S: 'PROFILE' } });

export class Users {
  constructor(private readonly table: Table) {}

  /** Creates the user or refreshes their email and provider, keeping the first createdAt. */
  async upsert(user: UserRecord): Promise<UserRecord> {
    try {
      const out = await this.table.db.send(
        new UpdateItemCommand({
          TableName: this.table.tableName,
          Key: userKey(user.userId),
          UpdateExpression: 'SET email = :e, provider = :p, issuer = :i, subject = :s, createdAt = if_not_exists(createdAt, :c), userId = :u',
          ExpressionAttributeValues: {
            ':e': { S: user.email },
            ':p': { S: user.provider },
            ':i': { S: user.issuer },
            ':s': { S: user.subject },
            ':c': { S: user.createdAt },
            ':u': { S: user.userId },
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { ...user, createdAt: out.Attributes?.createdAt?.S ?? user.createdAt };
    } catch (err) {
      throw unavailable(err);
    }
  }

  async get(userId: string): Promise<UserRecord | undefined> {
    try {
      const out = await this.table.db.send(new GetItemCommand({ TableName: this.table.tableName, Key: userKey(userId), ConsistentRead: true }));
      const i = out.Item;
      if (!i) return undefined;
      return {
        userId,
        email: i.email?.S ?? '',
        provider: i.provider?.S ?? '',
        issuer: i.issuer?.S ?? '',
        subject: i.subject?.S ?? '',
        createdAt: i.createdAt?.S ?? '',
      };
    } catch (err) {
      throw unavailable(err);
    }
  }
}
