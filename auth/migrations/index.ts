// Imported as text so `bun build --compile` embeds them in the executable.
import users from "./001_users.sql" with { type: "text" };
import type { Migration } from "../../lib/db.ts";

export const migrations: Migration[] = [{ name: "001_users", sql: users }];
