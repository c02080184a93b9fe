/** `POST day.tick`: pre-generates due days, reruns healed degraded sessions, service role only. */
import assert from "node:assert/strict";
import { setSetting } from "../support/faults.ts";
import { startTestStack, testBackends } from "../support/stack.ts";

for (const backend of testBackends()) {
  Deno.test(`[${backend}] day.tick pre-generates due plans and retries degraded ones`, async (t) => {
    const stack = await startTestStack(backend);
    try {
      // The whole batch is awaited (200), however slow a loaded machine makes it; the 202 path
      // is in edge_limits.test.ts.
      await setSetting(stack, "tick.answer_within_ms", 60_000);
      const early = await stack.createUser();
      const late = await stack.createUser();
      const service = await stack.serviceToken();
      const call = async (token: string, route: string, body?: unknown) => {
        const response = await fetch(`${stack.functionsUrl}/orchestrator/${route}`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify(body ?? {}),
        });
        return { status: response.status, body: await response.json() };
      };
      const tick = () => call(service, "day.tick");
      const intent = (plan_time: string) => ({
        topic: "Statistics",
        depth: "informed",
        end_goal: "Read papers",
        time_per_day_min: 30,
        user_tz: "UTC",
        meta: { plan_time },
      });
      const earlyToken = await stack.userToken(early);
      assert.equal((await call(earlyToken, "intent.sync", intent("00:00"))).status, 201);
      // 23:59 UTC has not passed yet today unless the test runs in that very minute.
      const notYet = new Date().toISOString().slice(11, 16) === "23:59" ? "00:00" : "23:59";
      assert.equal(
        (await call(await stack.userToken(late), "intent.sync", intent(notYet))).status,
        201,
      );

      await t.step("only the service role may tick", async () => {
        assert.equal((await call(earlyToken, "day.tick")).status, 403);
        assert.equal((await call(await stack.anonToken(), "day.tick")).status, 401);
        assert.equal((await call(service, "day.tick", { limit: 0 })).status, 400);
      });

      let firstSession = "";
      await t.step("a due intent gets week 1 day 1; a plan time still ahead does not", async () => {
        const { status, body } = await tick();
        assert.equal(status, 200, JSON.stringify(body));
        assert.equal(body.generated, 1);
        assert.equal(body.failed, 0);
        assert.deepEqual(
          body.runs.map((
            r: { user_id: string; week: number; day: number; kind: string },
          ) => [r.user_id, r.week, r.day, r.kind]),
          [[early, 1, 1, "next"]],
        );
        firstSession = body.runs[0].session_id;
        assert.equal((await tick()).body.due, 0, "nothing is due twice");
      });

      await t.step("the learner's own day.run is then answered from the database", async () => {
        const [{ n: before }] = await stack.sql`select count(*)::int as n from wisely.agent_calls`;
        const run = await call(earlyToken, "day.run", { week: 1, day: 1 });
        assert.equal(run.status, 200);
        assert.equal(run.body.session_id, firstSession);
        const [{ n: after }] = await stack.sql`select count(*)::int as n from wisely.agent_calls`;
        assert.equal(after, before);
      });

      await t.step(
        "the next day is due once the plan time passes on a later local date",
        async () => {
          assert.equal((await tick()).body.due, 0);
          await call(earlyToken, "day.done", {
            session_id: firstSession,
            completion_time_min: 30,
            confidence: 7,
          });
          await stack.sql`
          update wisely.sessions set created_at = created_at - interval '1 day'
          where id = ${firstSession}
        `;
          const { body } = await tick();
          assert.equal(body.generated, 1);
          assert.deepEqual([body.runs[0].week, body.runs[0].day], [1, 2]);
        },
      );

      await t.step(
        "a degraded session is rerun once its missing agent has answered again",
        async () => {
          const [session] = await stack.sql`
          update wisely.sessions set degraded_mode = true,
            signal_quality = jsonb_set(signal_quality, '{ta,available}', 'false'),
            updated_at = now()
          where user_id = ${early} and week = 1 and day = 2
          returning id, revision
        `;
          assert.equal((await tick()).body.retried, 0, "no evidence yet that ta is back");
          await stack.sql`
          insert into wisely.agent_calls (user_id, agent, outcome, status, attempts, latency_ms)
          values (${late}, 'ta', 'fetched', 200, 1, 5)
        `;
          const { body } = await tick();
          assert.equal(body.retried, 1);
          const [after] = await stack.sql`
          select revision, degraded_mode from wisely.sessions where id = ${session.id}
        `;
          assert.equal(after.revision, session.revision + 1);
          assert.equal(after.degraded_mode, false);
          const revisions = await stack.sql`
          select revision from wisely.plan_revisions where session_id = ${session.id} order by 1
        `;
          assert.deepEqual(revisions.map((r) => r.revision), [1, 2]);
        },
      );
    } finally {
      await stack.stop();
    }
  });
}
