/**
 * Password hashing: argon2id at the cost this service is configured with, every hash and
 * verification through one ConcurrencyLimit (each one holds a core and `memoryKib` of memory
 * for its whole duration), timed for the auth_password_hash_seconds histogram.
 */
import type { ConcurrencyLimit } from "./concurrency-limit.ts";

export interface HashCost {
  /** argon2id memory in KiB (OWASP's minimum: 19456, with 2 passes). */
  memoryKib: number;
  /** argon2id passes. */
  timeCost: number;
}

const ARGON2ID = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/;

export class PasswordHasher {
  private dummy: Promise<string> | null = null;

  constructor(
    readonly cost: HashCost,
    private readonly limit: ConcurrencyLimit,
    private readonly observe: (operation: "hash" | "verify", seconds: number) => void,
  ) {}

  /** A new hash of `password`; throws Overloaded when too many are waiting. */
  hash(password: string): Promise<string> {
    return this.limit.run(() => this.timed("hash", () => Bun.password.hash(password, this.options())));
  }

  /**
   * Whether `password` matches `stored`; with no stored hash (an unknown email) it checks
   * against a hash of the same cost, so a miss costs what a wrong password costs. Throws
   * Overloaded when too many are waiting.
   */
  verify(password: string, stored: string | undefined): Promise<boolean> {
    return this.limit.run(async () => {
      const against = stored ?? (await this.unknownUserHash());
      return this.timed("verify", () => Bun.password.verify(password, against));
    });
  }

  /** Whether a hash asked for now would be refused (Overloaded). */
  get saturated(): boolean {
    return this.limit.full;
  }

  /** Whether `stored` was made with another algorithm or cost than this hasher's. */
  needsRehash(stored: string): boolean {
    const m = ARGON2ID.exec(stored);
    return !m || Number(m[1]) !== this.cost.memoryKib || Number(m[2]) !== this.cost.timeCost || m[3] !== "1";
  }

  private options() {
    return { algorithm: "argon2id" as const, memoryCost: this.cost.memoryKib, timeCost: this.cost.timeCost };
  }

  // Made on first use rather than at start, so a start costs no hash.
  private unknownUserHash(): Promise<string> {
    return (this.dummy ??= Bun.password.hash("not-a-real-password", this.options()));
  }

  private async timed<T>(operation: "hash" | "verify", work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.observe(operation, (performance.now() - started) / 1000);
    }
  }
}
