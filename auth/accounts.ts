/**
 * Registering and logging in, apart from HTTP. A login refuses a key that failed too often,
 * looks the user up, verifies the password, counts a failure, and brings a hash made at
 * another cost up to this one while the password is at hand. Hashing is bounded: past its
 * queue, a login or registration is a 503 at once.
 */
import { ApiError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import { describeError } from "../lib/log.ts";
import { Overloaded } from "./concurrency-limit.ts";
import type { LoginLimiter } from "./login-limiter.ts";
import type { PasswordHasher } from "./password-hasher.ts";
import type { Users } from "./users.ts";

export interface AccountsDeps {
  users: Users;
  limiter: LoginLimiter;
  hasher: PasswordHasher;
  log: Logger;
  /** Counts a request refused because too many hashes were waiting. */
  onShed: (operation: "login" | "register") => void;
}

/** Seconds a shed client is told to wait: about what a full queue of this length takes to drain. */
const SHED_RETRY_AFTER_S = 1;

/** The contract's 503 for work refused because too many hashes are waiting. */
const busy = (what: string) =>
  new ApiError("UNAVAILABLE", `Too many ${what} at once; try again in a moment`, { retry_after: SHED_RETRY_AFTER_S }, { "retry-after": String(SHED_RETRY_AFTER_S) });

export class Accounts {
  constructor(private readonly d: AccountsDeps) {}

  /** The user id for these credentials; throws the contract's error otherwise. */
  async login(rawEmail: string, password: string, client: string): Promise<string> {
    const email = rawEmail.trim().toLowerCase();
    const keys = [`email:${email}`, `ip:${client}`];
    const wait = Math.max(...keys.map((k) => this.d.limiter.retryAfter(k)));
    if (wait > 0) throw new ApiError("RATE_LIMITED", "Too many failed logins; try again later", { retry_after: wait }, { "retry-after": String(wait) });
    // Refused before the database is asked, so a storm's excess costs next to nothing.
    if (this.d.hasher.saturated) throw this.shed("login");
    const user = await this.d.users.findByEmail(email);
    let ok: boolean;
    try {
      ok = await this.d.hasher.verify(password, user?.password_hash);
    } catch (e) {
      if (!(e instanceof Overloaded)) throw e;
      throw this.shed("login");
    }
    if (!user || !ok) {
      for (const k of keys) this.d.limiter.recordFailure(k);
      throw new ApiError("INVALID_CREDENTIALS", "Wrong email or password");
    }
    if (this.d.hasher.needsRehash(user.password_hash)) await this.rehash(user.id, user.password_hash, password);
    return user.id;
  }

  /** Registers; the new user, or null when the email is taken. */
  async register(email: string, password: string, name: string) {
    let hash: string;
    try {
      hash = await this.d.hasher.hash(password);
    } catch (e) {
      if (!(e instanceof Overloaded)) throw e;
      throw this.shed("register");
    }
    return this.d.users.create(email.trim().toLowerCase(), hash, name);
  }

  private shed(operation: "login" | "register"): ApiError {
    this.d.onShed(operation);
    return busy(operation === "login" ? "logins" : "registrations");
  }

  // Best effort: the login has succeeded whatever happens here; a shed or failed rehash is
  // tried again at the next login.
  private async rehash(userId: string, old: string, password: string): Promise<void> {
    try {
      await this.d.users.replacePasswordHash(userId, old, await this.d.hasher.hash(password));
    } catch (e) {
      if (!(e instanceof Overloaded)) this.d.log.warn("rehash failed; kept the old hash", { userId, ...describeError(e) });
    }
  }
}
