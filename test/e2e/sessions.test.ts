/** `GET sessions`: keyset pages newest first, completions included, CSV per RFC 4180. */
import assert from "node:assert/strict";
import { startTestStack, testBackends } from "../support/stack.ts";

for (const backend of testBackends()) {
  Deno.test(`[${backend}] sessions: pagination, CSV, isolation, bad queries`, async (t) => {
    const stack = await startTestStack(backend);
    try {
      const alice = await stack.createUser();
      const bob = await stack.createUser();
      const tokens = { alice: await stack.userToken(alice), bob: await stack.userToken(bob) };
      const call = (token: string, route: string, init: RequestInit = {}) =>
        fetch(`${stack.functionsUrl}/orchestrator/${route}`, {
          ...init,
          headers: { authorization: `Bearer ${token}`, ...init.headers },
        });
      const post = async (route: string, body: unknown) => {
        const response = await call(tokens.alice, route, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        assert.ok(response.ok, `${route} ${response.status}`);
        return await response.json();
      };
      await post("intent.sync", {
        topic: "SQL",
        depth: "surface",
        end_goal: "Query well",
        time_per_day_min: 20,
      });
      const ids: string[] = [];
      for (let day = 1; day <= 5; day++) {
        ids.push((await post("day.run", { week: 1, day })).session_id);
      }
      const tricky = '=SUM(A1), "quoted"\nsecond line';
      await post("day.done", {
        session_id: ids[1],
        completion_time_min: 18,
        confidence: 6,
        notes: tricky,
      });
      const newestFirst = [...ids].reverse();

      await t.step("pages of 2 walk every session once, newest first", async () => {
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
          const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
          const response = await call(tokens.alice, `sessions?limit=2${query}`);
          assert.equal(response.status, 200);
          const body = await response.json();
          assert.ok(body.sessions.length <= 2);
          seen.push(...body.sessions.map((s: { session_id: string }) => s.session_id));
          cursor = body.next_cursor;
          pages++;
        } while (cursor);
        assert.equal(pages, 3);
        assert.deepEqual(seen, newestFirst);
      });

      await t.step("a session carries its completion", async () => {
        const body = await (await call(tokens.alice, "sessions?limit=100")).json();
        const completed = body.sessions.find((s: { session_id: string }) =>
          s.session_id === ids[1]
        );
        assert.equal(completed.completion.confidence, 6);
        assert.equal(completed.completion.notes, tricky);
        assert.equal(body.sessions[0].completion, null);
        assert.equal(body.next_cursor, null);
      });

      await t.step("CSV: header, quoting, formula guard, next cursor header", async () => {
        const response = await call(tokens.alice, "sessions?limit=4", {
          headers: { accept: "text/csv" },
        });
        assert.equal(response.status, 200);
        assert.match(response.headers.get("content-type") ?? "", /^text\/csv/);
        assert.ok(response.headers.get("x-next-cursor"));
        const text = await response.text();
        assert.ok(text.startsWith("session_id,intent_id,week,day,revision,plan_title,"));
        assert.ok(text.endsWith("\r\n"));
        assert.ok(text.includes(`"'=SUM(A1), ""quoted""\nsecond line"`), text);
        // 1 header + 4 rows; the quoted newline is inside a field, not a record break.
        assert.equal(text.split("\r\n").length - 1, 5);
      });

      await t.step("another user sees none of it", async () => {
        const body = await (await call(tokens.bob, "sessions")).json();
        assert.deepEqual(body, { sessions: [], next_cursor: null });
      });

      await t.step("bad limit or cursor is 400", async () => {
        for (const query of ["limit=0", "limit=101", "limit=x", "cursor=abc", "unknown=1"]) {
          const response = await call(tokens.alice, `sessions?${query}`);
          assert.equal(response.status, 400, query);
          assert.equal((await response.json()).code, "INVALID_REQUEST");
        }
      });
    } finally {
      await stack.stop();
    }
  });
}
