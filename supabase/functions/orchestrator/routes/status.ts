/**
 * `GET status` (spec 5.6): one SQL call, computed under the user's RLS.
 *
 * Also answered for `POST` with no body or `{}`: supabase-js `functions.invoke` sends POST
 * unless told otherwise. Any other POST body is refused as `readJson` refuses bodies (400, or
 * 413/415 for size and media type). Two route entries, one per method, sharing one handler.
 */
import { z } from "zod";
import { commitBehind, type Tx } from "../../_shared/db.ts";
import type { Route } from "../../_shared/http/app.ts";
import type { UserDb } from "../../_shared/user_db.ts";
import { readJson } from "../../_shared/http/body.ts";
import { json } from "../../_shared/http/respond.ts";

/** The only body `POST status` takes: none (read as `{}`), or `{}`. */
const StatusBody = z.object({}).strict();

/**
 * The route's whole transaction: its one statement, sent with COMMIT (exported for the
 * benchmark's baseline).
 */
export function readStatus(tx: Tx): Promise<unknown> {
  const status = tx<{ status: unknown }[]>`select wisely.user_status() as status`.execute();
  return commitBehind(tx, status.then(([row]) => row.status));
}

/** `GET status` and `POST status`. */
export function statusRoutes(): Route[] {
  const respond = async (db: UserDb) => json(await db.transaction(readStatus));
  return [
    {
      method: "GET",
      path: "status",
      auth: "user",
      handle: ({ db }) => respond(db),
    },
    {
      method: "POST",
      path: "status",
      auth: "user",
      // A read: a replayed answer would be a stale status, so Idempotency-Key is ignored.
      idempotent: false,
      async handle({ req, db }) {
        await readJson(req, StatusBody);
        return await respond(db);
      },
    },
  ];
}
