/** `GET health` (no auth): is the function up, and can it reach the database? */
import type { Sql } from "../../_shared/db.ts";
import type { Route } from "../../_shared/http/app.ts";
import { json } from "../../_shared/http/respond.ts";

/** How long health waits for the database before calling it down. */
const HEALTH_DB_TIMEOUT_MS = 2000;

async function pingDatabase(sql: Sql): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), HEALTH_DB_TIMEOUT_MS);
  });
  try {
    return await Promise.race([sql`select 1`.then(() => true), timeout]);
  } catch {
    // Any failure to answer `select 1` means "down" for a health check.
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoute(sql: Sql): Route {
  return {
    method: "GET",
    path: "health",
    auth: "none",
    async handle() {
      if (await pingDatabase(sql)) return json({ ok: true, db: "up" });
      return json(
        {
          ok: false,
          db: "down",
          error: "The database is unavailable.",
          code: "DATABASE_UNAVAILABLE",
        },
        503,
        { "Retry-After": "5" },
      );
    },
  };
}
