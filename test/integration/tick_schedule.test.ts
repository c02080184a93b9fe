/**
 * `wisely.schedule_day_tick()` (migration 20260101000700): a no-op where pg_cron is absent, as
 * in this database, and a message that names every missing piece. Supabase Vault is faked with
 * a `vault.decrypted_secrets` view of the same columns, so the secret checks run for real.
 */
import assert from "node:assert/strict";
import { asRole, freshDatabase, type TestDatabase } from "../support/db.ts";

async function schedule(db: TestDatabase): Promise<string> {
  const [{ message }] = await db.sql<{ message: string }[]>`
    select wisely.schedule_day_tick() as message
  `;
  return message;
}

/** Replaces the fake Vault with these secrets. */
async function fakeVault(db: TestDatabase, secrets: Record<string, string>): Promise<void> {
  await db.sql`create schema if not exists vault`;
  await db.sql`drop view if exists vault.decrypted_secrets`;
  const rows = Object.entries(secrets);
  // The view's text is built from literals the test chose: two columns as Vault's view has.
  const values = rows.length === 0
    ? "select null::text as name, null::text as decrypted_secret where false"
    : "select * from (values " +
      rows.map(([name, value]) => `('${name}', '${value}')`).join(", ") +
      ") as v (name, decrypted_secret)";
  await db.sql.unsafe(`create view vault.decrypted_secrets as ${values}`);
}

Deno.test("schedule_day_tick: a no-op without pg_cron, naming all that is missing", async (t) => {
  const db = await freshDatabase({ max: 1 });
  try {
    const [{ cron }] = await db.sql<{ cron: boolean }[]>`
      select exists (select 1 from pg_extension where extname = 'pg_cron') as cron
    `;
    assert.equal(cron, false, "this test needs a database without pg_cron");

    await t.step("no Vault at all: extensions and Vault named, nothing scheduled", async () => {
      assert.equal(
        await schedule(db),
        "not scheduled: missing the pg_cron extension, the pg_net extension, " +
          "Supabase Vault (vault.decrypted_secrets)",
      );
      const [{ job }] = await db.sql<{ job: string | null }[]>`
        select to_regclass('cron.job')::text as job
      `;
      assert.equal(job, null, "no Cron job table appeared");
    });

    await t.step("a missing secret is named, with how to create it", async () => {
      await fakeVault(db, { wisely_project_url: "https://abcd.supabase.co" });
      const message = await schedule(db);
      assert.match(
        message,
        /^not scheduled: missing the pg_cron extension, the pg_net extension, /,
      );
      assert.match(message, /the Vault secret wisely_service_role_key\./);
      assert.doesNotMatch(message, /wisely_project_url/);
      assert.match(message, /vault\.create_secret/);
    });

    await t.step(
      "a blank secret counts as missing; a URL that is not http(s) is named",
      async () => {
        await fakeVault(db, {
          wisely_project_url: "abcd.supabase.co",
          wisely_service_role_key: " ",
        });
        const message = await schedule(db);
        assert.match(
          message,
          /a project URL \(https:\/\/<ref>\.supabase\.co\) in wisely_project_url/,
        );
        assert.match(message, /the Vault secret wisely_service_role_key/);
      },
    );

    await t.step("both secrets present: only the extensions are missing", async () => {
      await fakeVault(db, {
        wisely_project_url: "https://abcd.supabase.co",
        wisely_service_role_key: "sb_secret_test",
      });
      assert.equal(
        await schedule(db),
        "not scheduled: missing the pg_cron extension, the pg_net extension",
      );
    });

    await t.step("learners cannot call it", async () => {
      await assert.rejects(
        asRole(
          db.sql,
          "authenticated",
          crypto.randomUUID(),
          (tx) => tx`select wisely.schedule_day_tick()`,
        ),
        (error: unknown) =>
          typeof error === "object" && error !== null && "code" in error &&
          error.code === "42501",
      );
    });

    await t.step("the tick's time tunables are seeded", async () => {
      const rows = await db.sql<{ key: string; value: number }[]>`
        select key, value from wisely.settings
        where key in ('tick.answer_within_ms', 'tick.time_budget_ms') order by key
      `;
      assert.deepEqual(rows.map((r) => [r.key, r.value]), [
        ["tick.answer_within_ms", 3000],
        ["tick.time_budget_ms", 100000],
      ]);
    });
  } finally {
    await db.close();
  }
});
