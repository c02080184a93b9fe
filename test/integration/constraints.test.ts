/**
 * The schema rejects bad data on its own (spec 9: constraints repeat the API's bounds), even
 * from the service role, which bypasses RLS. Each case runs in a rolled-back transaction;
 * boundary values are checked to be accepted, so a too-strict constraint fails here too.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { asRole, createUser, freshDatabase } from "../support/db.ts";

type Tx = postgres.TransactionSql;

/** Postgres error with a SQLSTATE, as postgres.js throws it. */
function hasCode(code: string, constraint?: string) {
  return (error: unknown) => {
    assert.ok(typeof error === "object" && error !== null && "code" in error, String(error));
    assert.equal(error.code, code, String(error));
    if (constraint !== undefined) {
      assert.ok("constraint_name" in error, String(error));
      assert.equal(error.constraint_name, constraint);
    }
    return true;
  };
}

const CHECK = "23514";
const UNIQUE = "23505";

interface IntentFields {
  topic: string;
  depth: string;
  end_goal: string;
  time_per_day_min: number;
  user_tz: string;
  meta: postgres.JSONValue;
  active: boolean;
}

interface SessionFields {
  week: number;
  day: number;
}

interface CompletionFields {
  completion_time_min: number;
  confidence: number;
  notes: string | null;
}

Deno.test("constraints reject out-of-range and malformed rows", async (t) => {
  const db = await freshDatabase();
  const { sql } = db;
  try {
    const user = await createUser(sql);
    const otherUser = await createUser(sql);
    const [intent] = await sql`
      insert into wisely.intents (user_id, topic, depth, end_goal, time_per_day_min)
      values (${user}, 'SQL', 'deep', 'Tune queries', 60)
      returning id
    `;
    const [session] = await sql`
      insert into wisely.sessions (user_id, intent_id, week, day, plan_md, plan_summary, plan,
        total_minutes, degraded_mode, cache_hits, cache_misses, signal_quality)
      values (${user}, ${intent.id}, 1, 1, '# plan', '{}', '{}', 60, false, 0, 4, '{}')
      returning id
    `;

    // As the orchestrator writes: service_role, rolled back after each case.
    const asService = <T>(fn: (tx: Tx) => Promise<T>) => asRole(sql, "service_role", user, fn);

    const insertIntent = (tx: Tx, fields: Partial<IntentFields>) => {
      const f: IntentFields = {
        topic: "Rust",
        depth: "surface",
        end_goal: "Read the book",
        time_per_day_min: 30,
        user_tz: "UTC",
        meta: {},
        active: false,
        ...fields,
      };
      return tx`
        insert into wisely.intents (user_id, topic, depth, end_goal, time_per_day_min, user_tz,
          meta, active)
        values (${user}, ${f.topic}, ${f.depth}, ${f.end_goal}, ${f.time_per_day_min},
          ${f.user_tz}, ${tx.json(f.meta)}, ${f.active})
      `;
    };
    const insertSession = (tx: Tx, fields: SessionFields) =>
      tx`
        insert into wisely.sessions (user_id, intent_id, week, day, plan_md, plan_summary, plan,
          total_minutes, degraded_mode, cache_hits, cache_misses, signal_quality)
        values (${user}, ${intent.id}, ${fields.week}, ${fields.day}, '# plan', '{}', '{}', 60,
          false, 0, 4, '{}')
      `;
    const insertCompletion = (tx: Tx, fields: Partial<CompletionFields>) => {
      const f: CompletionFields = {
        completion_time_min: 30,
        confidence: 5,
        notes: null,
        ...fields,
      };
      return tx`
        insert into wisely.completions (session_id, user_id, completion_time_min, confidence,
          notes)
        values (${session.id}, ${user}, ${f.completion_time_min}, ${f.confidence}, ${f.notes})
      `;
    };

    await t.step("sessions.week is 1..520", async () => {
      for (const week of [0, 521, -1]) {
        await assert.rejects(
          asService((tx) => insertSession(tx, { week, day: 2 })),
          hasCode(CHECK),
        );
      }
      for (const week of [1, 520]) {
        assert.equal((await asService((tx) => insertSession(tx, { week, day: 2 }))).count, 1);
      }
    });

    await t.step("sessions.day is 1..7", async () => {
      for (const day of [0, 8]) {
        await assert.rejects(
          asService((tx) => insertSession(tx, { week: 2, day })),
          hasCode(CHECK),
        );
      }
      for (const day of [1, 7]) {
        assert.equal((await asService((tx) => insertSession(tx, { week: 2, day }))).count, 1);
      }
    });

    await t.step("one session per intent, week and day", async () => {
      await assert.rejects(
        asService((tx) => insertSession(tx, { week: 1, day: 1 })),
        hasCode(UNIQUE, "sessions_intent_id_week_day_key"),
      );
    });

    await t.step("intents.time_per_day_min is 5..480", async () => {
      for (const minutes of [4, 481, 0]) {
        await assert.rejects(
          asService((tx) => insertIntent(tx, { time_per_day_min: minutes })),
          hasCode(CHECK),
        );
      }
      for (const minutes of [5, 480]) {
        const inserted = await asService((tx) => insertIntent(tx, { time_per_day_min: minutes }));
        assert.equal(inserted.count, 1);
      }
    });

    await t.step("intents.depth is one of surface, informed, deep, expert", async () => {
      for (const depth of ["shallow", "", "Deep"]) {
        await assert.rejects(asService((tx) => insertIntent(tx, { depth })), hasCode(CHECK));
      }
      for (const depth of ["surface", "informed", "deep", "expert"]) {
        assert.equal((await asService((tx) => insertIntent(tx, { depth }))).count, 1);
      }
    });

    await t.step("intents.user_tz must be a real IANA zone", async () => {
      for (const zone of ["Mars/Olympus_Mons", "", "not a zone", "America/New York", "PST"]) {
        await assert.rejects(
          asService((tx) => insertIntent(tx, { user_tz: zone })),
          hasCode("23503"),
        );
      }
      for (const zone of ["UTC", "America/New_York", "Asia/Kolkata", "Europe/Berlin"]) {
        assert.equal((await asService((tx) => insertIntent(tx, { user_tz: zone }))).count, 1);
      }
    });

    await t.step("intents.topic and end_goal are non-blank and bounded", async () => {
      for (const topic of ["", "   ", "x".repeat(201)]) {
        await assert.rejects(asService((tx) => insertIntent(tx, { topic })), hasCode(CHECK));
      }
      await assert.rejects(
        asService((tx) => insertIntent(tx, { end_goal: "y".repeat(501) })),
        hasCode(CHECK),
      );
      assert.equal(
        (await asService((tx) => insertIntent(tx, { topic: "x".repeat(200) }))).count,
        1,
      );
    });

    await t.step("intents.meta must be a JSON object", async () => {
      for (const meta of [[], "text", 42, true]) {
        await assert.rejects(asService((tx) => insertIntent(tx, { meta })), hasCode(CHECK));
      }
      // JSON null (postgres.js would send SQL NULL for a JS null).
      await assert.rejects(
        asService((tx) =>
          tx`
            insert into wisely.intents (user_id, topic, depth, end_goal, time_per_day_min, meta,
              active)
            values (${user}, 'Go', 'deep', 'g', 30, 'null'::jsonb, false)
          `
        ),
        hasCode(CHECK),
      );
      await assert.rejects(
        asService((tx) => insertIntent(tx, { meta: { blob: "z".repeat(9000) } })),
        hasCode(CHECK),
      );
      assert.equal(
        (await asService((tx) => insertIntent(tx, { meta: { plan_time: "07:00" } }))).count,
        1,
      );
    });

    await t.step("a user has at most one active intent", async () => {
      await assert.rejects(
        asService((tx) => insertIntent(tx, { active: true })),
        hasCode(UNIQUE, "intents_one_active_per_user"),
      );
      // Inactive ones are unlimited, and another user may have their own active intent.
      const other = await asService(async (tx) => {
        await insertIntent(tx, { active: false });
        await insertIntent(tx, { active: false });
        return await tx`
          insert into wisely.intents (user_id, topic, depth, end_goal, time_per_day_min)
          values (${otherUser}, 'Go', 'deep', 'g', 30)
        `;
      });
      assert.equal(other.count, 1);
    });

    await t.step("completions.confidence is 1..10", async () => {
      for (const confidence of [0, 11]) {
        await assert.rejects(
          asService((tx) => insertCompletion(tx, { confidence })),
          hasCode(CHECK),
        );
      }
      for (const confidence of [1, 10]) {
        assert.equal((await asService((tx) => insertCompletion(tx, { confidence }))).count, 1);
      }
    });

    await t.step("completions.completion_time_min is 0..1440", async () => {
      for (const minutes of [-1, 1441]) {
        await assert.rejects(
          asService((tx) => insertCompletion(tx, { completion_time_min: minutes })),
          hasCode(CHECK),
        );
      }
      for (const minutes of [0, 1440]) {
        const inserted = await asService((tx) =>
          insertCompletion(tx, { completion_time_min: minutes })
        );
        assert.equal(inserted.count, 1);
      }
    });

    await t.step("completions.notes are at most 2000 characters", async () => {
      await assert.rejects(
        asService((tx) => insertCompletion(tx, { notes: "n".repeat(2001) })),
        hasCode(CHECK),
      );
      // Characters, not bytes: 2000 multi-byte characters fit.
      for (const notes of ["n".repeat(2000), "é".repeat(2000)]) {
        assert.equal((await asService((tx) => insertCompletion(tx, { notes }))).count, 1);
      }
    });

    await t.step("one completion per session", async () => {
      await assert.rejects(
        asService(async (tx) => {
          await insertCompletion(tx, {});
          return await insertCompletion(tx, {});
        }),
        hasCode(UNIQUE),
      );
    });
  } finally {
    await db.close();
  }
});
