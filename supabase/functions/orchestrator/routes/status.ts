/** `GET status` (spec 5.6): one SQL call, computed under the user's RLS. */
import { asUser, type Sql } from "../../_shared/db.ts";
import type { Route } from "../../_shared/http/app.ts";
import { json } from "../../_shared/http/respond.ts";

export function statusRoute(sql: Sql): Route {
  return {
    method: "GET",
    path: "status",
    auth: "user",
    async handle({ principal }) {
      const status = await asUser(sql, principal.claims, async (tx) => {
        const [row] = await tx<{ status: unknown }[]>`select wisely.user_status() as status`;
        return row.status;
      });
      return json(status);
    },
  };
}
