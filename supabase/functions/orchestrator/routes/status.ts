/** `GET status` (spec 5.6): one SQL call, computed under the user's RLS. */
import { asUser, type Sql, type Tx } from "../../_shared/db.ts";
import type { Route } from "../../_shared/http/app.ts";
import { json } from "../../_shared/http/respond.ts";

/** The route's whole database step (exported for the benchmark's baseline). */
export async function readStatus(tx: Tx): Promise<unknown> {
  const [row] = await tx<{ status: unknown }[]>`select wisely.user_status() as status`;
  return row.status;
}

export function statusRoute(sql: Sql): Route {
  return {
    method: "GET",
    path: "status",
    auth: "user",
    async handle({ principal }) {
      return json(await asUser(sql, principal.claims, readStatus));
    },
  };
}
