/**
 * `deno task start`'s data survives a restart (spec 4): a stack on a PGlite data directory is
 * stopped and a new one started on the same directory; the user, the intent, the session and
 * its plan are still there over HTTP, the migrations are not applied again, and the bootstrap
 * re-applies cleanly. A second stack on a directory in use fails at once; `freshData` empties it.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { type Stack, startStack } from "../../dev/stack.ts";
import { mintUserJwt } from "../../dev/jwt.ts";
import { LOCK_FILE } from "../../dev/pglite_dir.ts";
import { createUser } from "../support/db.ts";
import {
  DayRunResponse,
  SessionsResponse,
  StatusResponse,
} from "../../supabase/functions/_shared/responses.ts";

const INTENT = {
  topic: "Rust ownership",
  depth: "informed",
  end_goal: "Write a safe CLI tool",
  time_per_day_min: 45,
  user_tz: "UTC",
};

/** A stack on `dataDir`, with the lines it logged (to see what the migrator did). */
async function startOn(dataDir: string, freshData = false) {
  const lines: string[] = [];
  const stack = await startStack({
    databaseUrl: null,
    port: 0,
    dataDir,
    freshData,
    log: (line) => lines.push(line),
  });
  return { stack, lines };
}

/** Calls an orchestrator route as `userId`, parsing the JSON body with `schema`. */
async function call<T>(
  stack: Stack,
  userId: string,
  route: string,
  schema: z.ZodType<T>,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const secret = stack.config.jwtSecret;
  assert.ok(secret, "the local stack has a JWT secret");
  const token = await mintUserJwt({
    secret,
    userId,
    issuer: `${stack.config.supabaseUrl ?? stack.url}/auth/v1`,
  });
  const response = await fetch(`${stack.functionsUrl}/orchestrator/${route}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  assert.ok(response.ok, `${route}: ${response.status} ${JSON.stringify(json)}`);
  return { status: response.status, body: schema.parse(json) };
}

/** The signing keys' ids: over HTTP once the local Auth serves them, else in process. */
async function jwksKids(stack: Stack): Promise<(string | undefined)[]> {
  const inProcess = stack.auth.jwks.keys.map((key) => key.kid);
  const response = await fetch(`${stack.url}/auth/v1/.well-known/jwks.json`, {
    headers: { apikey: stack.keys.publishable[0] },
  });
  if (!response.ok) {
    await response.body?.cancel();
    return inProcess;
  }
  const served = z.object({ keys: z.array(z.object({ kid: z.string().optional() })) }).parse(
    await response.json(),
  );
  assert.deepEqual(served.keys.map((key) => key.kid), inProcess);
  return inProcess;
}

async function migrationCount(stack: Stack): Promise<number> {
  const [row] = await stack.sql<{ count: number }[]>`
    select count(*)::int as count from supabase_migrations.schema_migrations
  `;
  return row.count;
}

Deno.test("[pglite] a restart on the same data directory keeps the data", async (t) => {
  const dataDir = await Deno.makeTempDir({ prefix: "wisely_persistence_" });
  let stack: Stack | null = null;
  try {
    const first = await startOn(dataDir);
    stack = first.stack;
    assert.equal(stack.dataDir, await Deno.realPath(dataDir));
    const applied = first.lines.find((line) => line.startsWith("Migrations:"));
    assert.match(applied ?? "", /^Migrations: [1-9]\d* applied\.$/);
    const migrations = await migrationCount(stack);

    const userId = await createUser(stack.sql);
    const intent = await call(stack, userId, "intent.sync", z.unknown(), INTENT);
    assert.equal(intent.status, 201);
    const run = await call(stack, userId, "day.run", DayRunResponse, { week: 1, day: 1 });
    assert.equal(run.status, 201);
    const kids = await jwksKids(stack);

    await t.step("a second stack on the directory in use fails at once", async () => {
      await assert.rejects(
        startStack({ databaseUrl: null, port: 0, dataDir }),
        /is in use by another local stack \(pid \d+\)/,
      );
      // The failed start released nothing of the first: it still answers.
      await call(stack!, userId, "status", StatusResponse);
    });

    await stack.stop();
    stack = null;
    const second = await startOn(dataDir);
    stack = second.stack;

    await t.step("the migrator applies nothing again; the bootstrap re-ran cleanly", async () => {
      assert.ok(second.lines.includes("Migrations: 0 applied."), second.lines.join("\n"));
      assert.equal(await migrationCount(stack!), migrations);
    });

    await t.step("the user, intent, session and plan are all still there", async () => {
      const [user] = await stack!.sql`select email from auth.users where id = ${userId}`;
      assert.equal(user?.email, `${userId}@example.test`);
      const status = (await call(stack!, userId, "status", StatusResponse)).body;
      assert.equal(status.active_intent?.topic, INTENT.topic);
      assert.equal(status.latest_session?.id, run.body.session_id);
      assert.equal(status.latest_session?.plan_title, run.body.plan_json_summary.title);
      const sessions = (await call(stack!, userId, "sessions", SessionsResponse)).body;
      assert.deepEqual(sessions.sessions.map((s) => s.session_id), [run.body.session_id]);
      // The same day again is the stored plan (200), not a new one (201).
      const again = await call(stack!, userId, "day.run", DayRunResponse, { week: 1, day: 1 });
      assert.equal(again.status, 200);
      assert.equal(again.body.session_id, run.body.session_id);
      assert.equal(again.body.plan_md, run.body.plan_md);
    });

    await t.step("the Auth signing key survived the restart (same JWKS kids)", async () => {
      assert.deepEqual(await jwksKids(stack!), kids);
    });

    await stack.stop();
    stack = null;

    await t.step("freshData starts from an empty database", async () => {
      const fresh = await startOn(dataDir, true);
      stack = fresh.stack;
      assert.match(fresh.lines.join("\n"), /Migrations: [1-9]\d* applied\./);
      const users = await stack.sql`select 1 from auth.users where id = ${userId}`;
      assert.equal(users.length, 0);
      const entries: string[] = [];
      for await (const entry of Deno.readDir(dataDir)) entries.push(entry.name);
      assert.ok(entries.includes(LOCK_FILE) && entries.includes("PG_VERSION"));
    });
  } finally {
    await (stack as Stack | null)?.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
});
