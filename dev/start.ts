/**
 * `deno task start [--fresh] [--data-dir PATH] [--no-migrate]`: the whole backend on
 * http://127.0.0.1:54321 with no other set-up. Uses `SUPABASE_DB_URL` when set, else an embedded
 * PGlite whose data persists in `.pglite/` at the repository root (or `--data-dir` /
 * `WISELY_PGLITE_DIR`); `--fresh` empties it first. `--no-migrate` (or `WISELY_SKIP_MIGRATE=1`)
 * skips bootstrap and migrations on an already prepared database. Seeds a demo user and prints
 * the URLs and keys a frontend needs, a token and ready-to-paste curl commands. Ctrl-C stops it.
 */
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ensureLocalUser } from "./auth/mod.ts";
import { type Stack, startStack } from "./stack.ts";
import { CONSOLE_PATH } from "./static.ts";
import {
  DEMO_USER_EMAIL,
  DEMO_USER_ID,
  DEMO_USER_PASSWORD,
  mintServiceJwt,
  mintUserJwt,
} from "./jwt.ts";

const USAGE = `Usage: deno task start [--fresh] [--data-dir PATH] [--no-migrate]

  --fresh          start from an empty database (empties the PGlite data directory)
  --data-dir PATH  where the embedded PGlite keeps its data (default: .pglite/ in the
                   repository root; a relative PATH is relative to where you run the command)
  --no-migrate     skip the platform bootstrap and migrations (a prepared database)

Environment: SUPABASE_DB_URL (default: embedded PGlite), WISELY_PGLITE_DIR (as --data-dir),
PORT (default 54321), WISELY_SKIP_MIGRATE=1 (as --no-migrate), JWT_SECRET, … (see README).`;

/** Where PGlite keeps its data unless told otherwise: `.pglite/`, ignored by git. */
const DEFAULT_DATA_DIR = fileURLToPath(new URL("../.pglite", import.meta.url));

class UsageError extends Error {}

interface StartOptions {
  migrate: boolean;
  /** PGlite's data directory; null on `SUPABASE_DB_URL`. */
  dataDir: string | null;
  fresh: boolean;
  databaseUrl: string | null;
}

/** The command line and environment as options, or null for `--help`. */
function parseArgs(args: string[], env: Record<string, string>): StartOptions | null {
  let fresh = false;
  let skipMigrate = env.WISELY_SKIP_MIGRATE === "1";
  let dataDirFlag: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--help" || arg === "-h") return null;
    else if (arg === "--fresh") fresh = true;
    else if (arg === "--no-migrate") skipMigrate = true;
    else if (arg.startsWith("--data-dir=")) dataDirFlag = arg.slice("--data-dir=".length);
    else if (arg === "--data-dir" && i + 1 < args.length) dataDirFlag = args[++i];
    else throw new UsageError(`unknown or incomplete argument ${arg}`);
  }
  if (dataDirFlag === "") throw new UsageError("--data-dir needs a path");
  const databaseUrl = env.SUPABASE_DB_URL?.trim() || null;
  if (databaseUrl && (fresh || dataDirFlag !== null)) {
    throw new UsageError(
      "--fresh and --data-dir are for the embedded PGlite; SUPABASE_DB_URL is set",
    );
  }
  if (fresh && skipMigrate) throw new UsageError("--fresh needs the migrations; drop --no-migrate");
  const given = dataDirFlag ?? (env.WISELY_PGLITE_DIR?.trim() || null);
  const dataDir = databaseUrl ? null : resolveDataDir(given, env);
  return { migrate: !skipMigrate, dataDir, fresh, databaseUrl };
}

/** A given path resolved against where the user ran the command; else the default. */
function resolveDataDir(given: string | null, env: Record<string, string>): string {
  if (given === null) return DEFAULT_DATA_DIR;
  // `deno task` runs in the repository root; INIT_CWD is where the user typed the command.
  return resolve(env.INIT_CWD ?? Deno.cwd(), given);
}

/** The demo learner, who can sign in with e-mail and password; their data is kept. */
async function seedDemoUser(stack: Stack): Promise<void> {
  await ensureLocalUser(stack.sql, {
    id: DEMO_USER_ID,
    email: DEMO_USER_EMAIL,
    password: DEMO_USER_PASSWORD,
  });
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

function curlExamples(stack: Stack): string {
  const auth = `-H "Authorization: Bearer $WISELY_TOKEN"`;
  const json = `-H "Content-Type: application/json"`;
  const fn = `"$WISELY_URL/orchestrator`;
  const apikey = `-H "apikey: ${stack.keys.publishable[0]}"`;
  const signIn = JSON.stringify({ email: DEMO_USER_EMAIL, password: DEMO_USER_PASSWORD });
  return [
    `# sign in as the demo user (an access token, 1 h) or as a new anonymous user:`,
    `curl -sS -X POST "${stack.url}/auth/v1/token?grant_type=password" ${apikey} ${json} -d '${signIn}'`,
    `curl -sS -X POST "${stack.url}/auth/v1/signup" ${apikey} ${json} -d '{}'`,
    `# the orchestrator, as the demo user:`,
    `curl -sS ${fn}/health"`,
    `curl -sS -X POST ${fn}/intent.sync" ${auth} ${json} \\\n  -d '{"topic":"Rust ownership","depth":"informed","end_goal":"Write a safe CLI tool","time_per_day_min":45,"user_tz":"UTC"}'`,
    `curl -sS -X POST ${fn}/day.run" ${auth} ${json} -d '{"week":1,"day":1}'`,
    `curl -sS -X POST ${fn}/day.done" ${auth} ${json} \\\n  -d '{"session_id":"SESSION_ID_FROM_DAY_RUN","completion_time_min":40,"confidence":7}'`,
    `curl -sS ${fn}/status" ${auth}`,
  ].join("\n");
}

interface Tokens {
  /** The demo user's, valid 24 h. */
  user: string;
  service: string;
}

async function mintTokens(stack: Stack): Promise<Tokens> {
  const secret = stack.config.jwtSecret;
  if (!secret) throw new Error("JWT_SECRET is not set; the local stack cannot mint tokens.");
  const user = await mintUserJwt({
    secret,
    userId: DEMO_USER_ID,
    email: DEMO_USER_EMAIL,
    expiresIn: "24h",
    issuer: `${stack.config.supabaseUrl ?? stack.url}/auth/v1`,
  });
  return { user, service: await mintServiceJwt(secret) };
}

/** Where the data lives, in one line. */
function databaseLine(stack: Stack, options: StartOptions): string {
  const skipped = options.migrate ? "" : " (migrations skipped)";
  if (stack.kind === "postgres") return `Postgres from SUPABASE_DB_URL${skipped}`;
  if (stack.dataDir === null) return `embedded PGlite in memory${skipped}`;
  return `embedded PGlite, data in ${stack.dataDir}${skipped} (kept; --fresh empties it)`;
}

/** What a frontend (`createClient(API URL, key)`) and a shell need, as `supabase start` does. */
function banner(stack: Stack, options: StartOptions, tokens: Tokens, elapsedMs: number): string {
  const rows: [string, string | undefined][] = [
    ["API URL", stack.url],
    ["Web console", `${stack.url}${CONSOLE_PATH}/`],
    ["Functions URL", stack.functionsUrl],
    ["Auth URL", `${stack.url}/auth/v1`],
    ["Realtime URL", `${stack.url.replace(/^http/, "ws")}/realtime/v1`],
    ["Publishable key", stack.keys.publishable[0]],
    ["Secret key", stack.keys.secret[0]],
    ["anon key", stack.keys.legacyAnon[0]],
    ["service_role key", stack.keys.legacyServiceRole[0]],
    ["Database", databaseLine(stack, options)],
    ["Demo user", `${DEMO_USER_EMAIL} / ${DEMO_USER_PASSWORD} (id ${DEMO_USER_ID})`],
    ["JWKS", `${stack.url}/auth/v1/.well-known/jwks.json`],
  ];
  const table = rows.map(([name, value]) => `  ${name.padEnd(17)} ${value ?? "(none)"}`);
  return `
Wisely Orchestrator is up in ${Math.round(elapsedMs)} ms.

${table.join("\n")}

Paste into a shell:

export WISELY_URL=${stack.functionsUrl}
export WISELY_TOKEN=${tokens.user}
export WISELY_SERVICE_TOKEN=${tokens.service}
${curlExamples(stack)}

Ctrl-C stops the stack.`;
}

/**
 * Under `deno task`, one Ctrl-C can arrive twice: the terminal signals the whole process group
 * and `deno task` forwards its copy to us. A repeat this soon is that echo, not a second Ctrl-C.
 */
const SIGNAL_ECHO_MS = 500;

/**
 * Resolves on the first SIGINT or SIGTERM; from then on a second one forces the exit, as users
 * expect from a second Ctrl-C while stopping.
 */
async function untilSignal(): Promise<Deno.Signal> {
  const { promise, resolve } = Promise.withResolvers<Deno.Signal>();
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  const handlers = signals.map((signal) => {
    const handler = () => resolve(signal);
    Deno.addSignalListener(signal, handler);
    return { signal, handler };
  });
  const signal = await promise;
  const first = performance.now();
  const force = () => {
    if (performance.now() - first < SIGNAL_ECHO_MS) return;
    console.error("Second signal: exiting without a clean stop.");
    Deno.exit(130);
  };
  // The new listener goes in before the old one goes out, so the signal is never unhandled.
  for (const { signal, handler } of handlers) {
    Deno.addSignalListener(signal, force);
    Deno.removeSignalListener(signal, handler);
  }
  return signal;
}

async function main(args: string[]): Promise<number> {
  const started = performance.now();
  const env = Deno.env.toObject();
  let options: StartOptions | null;
  try {
    options = parseArgs(args, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`start: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options === null) {
    console.log(USAGE);
    return 0;
  }

  const stack = await startStack({
    databaseUrl: options.databaseUrl,
    dataDir: options.dataDir,
    freshData: options.fresh,
    migrate: options.migrate,
    env,
    log: (line) => console.log(line),
  });
  let stopScheduler = () => {};
  try {
    await seedDemoUser(stack);
    const tokens = await mintTokens(stack);
    stopScheduler = startLocalScheduler(stack, tokens.service);
    console.log(banner(stack, options, tokens, performance.now() - started));
  } catch (error) {
    stopScheduler();
    await stack.stop();
    throw error;
  }

  const signal = await untilSignal();
  console.log(`\n${signal}: stopping…`);
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
