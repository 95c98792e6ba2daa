/** Data access for users (schema `auth`). */
import type { Sql } from "../lib/db.ts";
import { isUuid } from "../lib/uuid.ts";

export interface User {
  id: string;
  email: string;
  name: string;
  created_at: Date;
}

/** A user as the contract shows it: never the hash. */
export const publicUser = (u: User) => ({ id: u.id, email: u.email, name: u.name, created_at: u.created_at.toISOString() });

export interface UserWithHash extends User {
  password_hash: string;
}

export class Users {
  constructor(private readonly sql: Sql) {}

  /** The new user, or null when the email is taken. */
  async create(email: string, passwordHash: string, name: string): Promise<User | null> {
    const rows = await this.sql<User[]>`
      insert into auth.users (email, password_hash, name) values (${email}, ${passwordHash}, ${name})
      on conflict (email) do nothing
      returning id, email, name, created_at`;
    return rows[0] ?? null;
  }

  async findByEmail(email: string): Promise<UserWithHash | null> {
    const rows = await this.sql<UserWithHash[]>`
      select id, email, name, created_at, password_hash from auth.users where email = ${email}`;
    return rows[0] ?? null;
  }

  async findById(id: string): Promise<User | null> {
    if (!isUuid(id)) return null;
    const rows = await this.sql<User[]>`select id, email, name, created_at from auth.users where id = ${id}`;
    return rows[0] ?? null;
  }

  /** Replaces the hash if it is still `old` (a password change meanwhile wins). */
  async replacePasswordHash(id: string, old: string, hash: string): Promise<void> {
    await this.sql`update auth.users set password_hash = ${hash} where id = ${id} and password_hash = ${old}`;
  }
}
