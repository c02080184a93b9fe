/**
 * `deno task start [--no-migrate]`: the whole backend on http://127.0.0.1:54321 with no other
 * set-up. Uses `SUPABASE_DB_URL` when set, else an embedded PGlite; `--no-migrate` (or
 * `WISELY_SKIP_MIGRATE=1`) skips bootstrap and migrations on an already prepared database.
 * Seeds a demo user and prints tokens and ready-to-paste curl commands. Ctrl-C stops it.
 */
import type postgres from "postgres";
import { type Stack, startStack } from "./stack.ts";
import { DEMO_USER_EMAIL, DEMO_USER_ID, mintServiceJwt, mintUserJwt } from "./jwt.ts";

const USAGE = `Usage: deno task start [--no-migrate]

Environment: SUPABASE_DB_URL (default: embedded PGlite), PORT (default 54321),
WISELY_SKIP_MIGRATE=1 (as --no-migrate), JWT_SECRET, EDGE_BASE_URL, … (see README).`;

/** Inserts the demo learner; a second start leaves the existing row alone. */
async function seedDemoUser(sql: postgres.Sql): Promise<void> {
  await sql`
    insert into auth.users (id, aud, role, email)
    values (${DEMO_USER_ID}, 'authenticated', 'authenticated', ${DEMO_USER_EMAIL})
    on conflict do nothing
  `;
}

/** How often the local stand-in for Supabase Cron calls day.tick (spec 8: every minute). */
const LOCAL_TICK_INTERVAL_MS = 60_000;

/**
 * The local stand-in for Supabase Cron: POSTs day.tick with the service role every minute, as
 * the pg_cron job does every ten minutes on a hosted project. Returns a function that stops it.
 */
function startLocalScheduler(stack: Stack, serviceToken: string): () => void {
  let running: Promise<void> | null = null;
  const tick = () => {
    if (running) return; // A slow tick is never overlapped by the next one.
    running = (async () => {
      try {
        const response = await fetch(`${stack.functionsUrl}/orchestrator/day.tick`, {
          method: "POST",
          headers: { authorization: `Bearer ${serviceToken}`, "content-type": "application/json" },
          body: "{}",
        });
        const body = await response.json();
        if (!response.ok || body.due > 0) {
          console.log(
            JSON.stringify({
              level: "info",
              event: "local_cron.day_tick",
              status: response.status,
              due: body.due,
              generated: body.generated,
              retried: body.retried,
              failed: body.failed,
            }),
          );
        }
      } catch (error) {
        console.error(
          `local cron: day.tick failed: ${error instanceof Error ? error.message : error}`,
        );
      } finally {
        running = null;
      }
    })();
  };
  const timer = setInterval(tick, LOCAL_TICK_INTERVAL_MS);
  return () => clearInterval(timer);
}

function curlExamples(): string {
  const auth = `-H "Authorization: Bearer $WISELY_TOKEN"`;
  const json = `-H "Content-Type: application/json"`;
  const fn = `"$WISELY_URL/orchestrator`;
  return [
    `curl -sS ${fn}/health"`,
    `curl -sS -X POST ${fn}/intent.sync" ${auth} ${json} \\\n  -d '{"topic":"Rust ownership","depth":"informed","end_goal":"Write a safe CLI tool","time_per_day_min":45,"user_tz":"UTC"}'`,
    `curl -sS -X POST ${fn}/day.run" ${auth} ${json} -d '{"week":1,"day":1}'`,
    `curl -sS -X POST ${fn}/day.done" ${auth} ${json} \\\n  -d '{"session_id":"SESSION_ID_FROM_DAY_RUN","completion_time_min":40,"confidence":7}'`,
    `curl -sS ${fn}/status" ${auth}`,
  ].join("\n");
}

async function main(args: string[]): Promise<number> {
  const started = performance.now();
  for (const arg of args) {
    if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      return 0;
    }
    if (arg !== "--no-migrate") {
      console.error(`start: unknown argument ${arg}\n\n${USAGE}`);
      return 2;
    }
  }
  const migrate = !args.includes("--no-migrate") && Deno.env.get("WISELY_SKIP_MIGRATE") !== "1";
  const env = Deno.env.toObject();

  const stack = await startStack({
    databaseUrl: env.SUPABASE_DB_URL?.trim() || null,
    migrate,
    env,
    log: (line) => console.log(line),
  });
  let stopScheduler = () => {};
  try {
    await seedDemoUser(stack.sql);
    const secret = stack.config.jwtSecret;
    if (!secret) throw new Error("JWT_SECRET is not set; the local stack cannot mint tokens.");
    const userToken = await mintUserJwt({
      secret,
      userId: DEMO_USER_ID,
      email: DEMO_USER_EMAIL,
      expiresIn: "24h",
      issuer: `${stack.config.supabaseUrl ?? stack.url}/auth/v1`,
    });
    const serviceToken = await mintServiceJwt(secret);
    stopScheduler = startLocalScheduler(stack, serviceToken);

    const elapsed = Math.round(performance.now() - started);
    const database = stack.kind === "pglite" ? "embedded PGlite" : "Postgres from SUPABASE_DB_URL";
    const migrations = migrate ? "" : ", migrations skipped";
    console.log(`
Wisely Orchestrator is up in ${elapsed} ms on ${database}${migrations}.

  Functions URL   ${stack.functionsUrl}
  Demo user       ${DEMO_USER_ID} (${DEMO_USER_EMAIL})
  User JWT (24 h) ${userToken}
  Service JWT     ${serviceToken}

Paste into a shell:

export WISELY_URL=${stack.functionsUrl}
export WISELY_TOKEN=${userToken}
export WISELY_SERVICE_TOKEN=${serviceToken}
${curlExamples()}

Ctrl-C stops the stack.`);
  } catch (error) {
    stopScheduler();
    await stack.stop();
    throw error;
  }

  const { promise: signalled, resolve } = Promise.withResolvers<Deno.Signal>();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const handlers = signals.map((signal) => {
    const handler = () => resolve(signal);
    Deno.addSignalListener(signal, handler);
    return { signal, handler };
  });
  const signal = await signalled;
  console.log(`\n${signal}: stopping…`);
  // A second signal while stopping forces the exit, as users expect from a second Ctrl-C.
  const force = () => Deno.exit(130);
  for (const { signal, handler } of handlers) {
    Deno.removeSignalListener(signal, handler);
    Deno.addSignalListener(signal, force);
  }
  stopScheduler();
  await stack.stop();
  console.log("Stopped.");
  return 0;
}

/** The message of an error and of its causes, one line each: enough to act on, no stack. */
function describe(error: unknown): string {
  const lines: string[] = [];
  for (let e: unknown = error; e !== undefined && lines.length < 5;) {
    lines.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return lines.join("\n  caused by: ");
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`start: ${describe(error)}`);
    Deno.exit(1);
  }
}
