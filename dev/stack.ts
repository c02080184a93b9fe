/**
 * The local stack: a database (an external Postgres or an embedded PGlite), the platform
 * bootstrap and migrations, the orchestrator and the four reference agents behind one gateway
 * that mimics Supabase's. `deno task start` runs one; tests run several in one process, so
 * nothing here reads or writes process-wide state beyond `SUPABASE_DB_URL` as a default.
 */
import type postgres from "postgres";
import {
  type Config,
  loadConfig,
  LOCAL_JWT_SECRET,
  LOCAL_PORT,
} from "../supabase/functions/_shared/config.ts";
import { createPool } from "../supabase/functions/_shared/pool.ts";
import { AGENT_NAMES } from "../supabase/functions/_shared/agents/protocol.ts";
import { createReferenceAgent } from "../supabase/functions/_shared/agents/reference/server.ts";
import { createOrchestrator } from "../supabase/functions/orchestrator/app.ts";
import { createTokenVerifier } from "../supabase/functions/_shared/auth.ts";
import { type LocalAuth, startLocalAuth } from "./auth/mod.ts";
import { createGateway, type FetchHandler } from "./gateway.ts";
import { type ApiKeySet, LOCAL_API_KEYS } from "./keys.ts";
import { type LocalRealtime, startLocalRealtime } from "./realtime/mod.ts";
import { migrate } from "./migrate.ts";
import { CONSOLE_PATH, createConsoleSite } from "./static.ts";
import { type PgliteServer, startPglite } from "./pglite.ts";
import { startWebhookWorker, type WebhookWorker } from "./webhook_worker.ts";

export { DEMO_USER_EMAIL, DEMO_USER_ID } from "./jwt.ts";

export interface StackOptions {
  /**
   * Postgres connection string. Default: the `SUPABASE_DB_URL` environment variable, else an
   * embedded PGlite. `null` always starts an embedded PGlite.
   */
  databaseUrl?: string | null;
  /**
   * Directory the embedded PGlite keeps its data in across restarts: created if missing, and
   * locked while the stack runs (a second stack on it fails at once). Unused on Postgres.
   * @default null: in memory, gone on stop() (what tests and benchmarks want).
   */
  dataDir?: string | null;
  /** Empty `dataDir` before starting, for a new database. @default false */
  freshData?: boolean;
  /** Port of the gateway on 127.0.0.1. Default: `PORT` in `env`, else 54321. 0 picks a free one. */
  port?: number;
  /** Apply the platform bootstrap and all migrations first. Default: true. */
  migrate?: boolean;
  /** Let the reference agents honour fault-injection headers (tests only). Default: false. */
  agentFaults?: boolean;
  /**
   * Extra configuration variables (`JWT_SECRET`, `SUPABASE_SECRET_KEYS`, `EDGE_BASE_URL`, …) for
   * `loadConfig`. They win over the stack's defaults, except `WISELY_LOCAL_STACK`, `PORT` and
   * `SUPABASE_DB_URL`, which describe the stack itself. An empty value means unset, with no
   * local default (`JWT_SECRET: ""`: a new-key project). The Auth and Realtime accept the same
   * keys. Default: none; the process environment is never read for these.
   */
  env?: Record<string, string>;
  /** Progress lines (database, migrations). Default: discarded. */
  log?: (line: string) => void;
  /** Connections in the pool on Postgres (PGlite always uses 1). Default 10. */
  poolMax?: number;
}

export interface Stack {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** `url + "/functions/v1"`. */
  functionsUrl: string;
  databaseUrl: string;
  kind: "postgres" | "pglite";
  /** Absolute path of PGlite's data directory; null in memory and on Postgres. */
  dataDir: string | null;
  /** The one admin pool; the functions use it too. */
  sql: postgres.Sql;
  /** Its size. */
  poolMax: number;
  config: Config;
  /** The API keys the stack accepts (the Supabase CLI's local ones unless `env` says others). */
  keys: ApiKeySet;
  /** The local Auth at `url + "/auth/v1"`. */
  auth: LocalAuth;
  /** Stops the server (letting requests in flight finish), ends the pool, stops PGlite. */
  stop(): Promise<void>;
}

// PGlite's socket server refuses a second connection, so its pool is one connection.
const PGLITE_POOL_MAX = 1;
// PGlite answers on this process's event loop, which another embedded PGlite in the same
// process (tests start several side by side) can hold for seconds while it runs migrations:
// the pool's 3 s (meant to answer 503 fast when a Postgres is down) would fail the connect.
const PGLITE_CONNECT_TIMEOUT_S = 30;
const POSTGRES_POOL_MAX = 10;

function stackEnv(
  options: StackOptions,
  port: number,
  databaseUrl: string | null,
  auth: LocalAuth | null = null,
): Map<string, string> {
  const env = new Map<string, string>([
    ["EDGE_BASE_URL", `http://127.0.0.1:${port}`],
    // The functions find the project where a hosted function would: SUPABASE_URL, and the
    // local Auth's public keys in SUPABASE_JWKS.
    ["SUPABASE_URL", `http://127.0.0.1:${port}`],
    ...(auth ? [["SUPABASE_JWKS", JSON.stringify(auth.jwks)] as [string, string]] : []),
    ...Object.entries(options.env ?? {}),
    ["WISELY_LOCAL_STACK", "1"],
    ["PORT", String(port)],
  ]);
  // An unset SUPABASE_DB_URL is how the config says "embedded PGlite"; the stack's database is
  // its own, so WISELY_DB_URL does not apply either.
  env.delete("SUPABASE_DB_URL");
  env.delete("WISELY_DB_URL");
  if (databaseUrl) env.set("SUPABASE_DB_URL", databaseUrl);
  if (options.agentFaults) env.set("WISELY_AGENT_FAULTS", "1");
  return env;
}

/**
 * The API keys the stack's Auth and Realtime accept: the functions' own (the CLI's local keys
 * unless `env` says otherwise), and the CLI's legacy JWT keys while the secret that signed them
 * is the configured `JWT_SECRET`.
 */
function stackKeys(config: Config): ApiKeySet {
  const legacy = config.jwtSecret !== null &&
    new TextDecoder().decode(config.jwtSecret) === LOCAL_JWT_SECRET;
  return {
    publishable: config.publishableKeys,
    secret: config.secretKeys,
    legacyAnon: legacy ? LOCAL_API_KEYS.legacyAnon : [],
    legacyServiceRole: [
      ...(legacy ? LOCAL_API_KEYS.legacyServiceRole : []),
      ...(config.legacyServiceRoleKey === null ? [] : [config.legacyServiceRoleKey]),
    ],
  };
}

function buildFunctions(
  config: Config,
  sql: postgres.Sql,
  closing: AbortSignal,
): Record<string, FetchHandler> {
  const functions: Record<string, FetchHandler> = {
    orchestrator: createOrchestrator({ config, sql }),
  };
  for (const name of AGENT_NAMES) {
    functions[`agent-${name}`] = createReferenceAgent(name, { config, closing });
  }
  return functions;
}

/** Runs every step even if one fails, then reports all failures together. */
async function runAll(steps: (() => Promise<void>)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, "Stopping the local stack failed.");
}

function starting(): Response {
  return Response.json({ error: "The local stack is starting.", code: "STARTING" }, {
    status: 503,
    headers: { "retry-after": "1" },
  });
}

/**
 * What a starting stack has started so far. Each step records its part as soon as it is up, so
 * that `stopParts` stops exactly what a failed start left running.
 */
interface StackParts {
  server: Deno.HttpServer<Deno.NetAddr>;
  /** Aborted first on stop: injected agent hangs end, so the server's shutdown can finish. */
  closing: AbortController;
  pglite: PgliteServer | null;
  sql: postgres.Sql | null;
  realtime: LocalRealtime | null;
  webhooks: WebhookWorker | null;
}

/** Stops every part; requests in flight finish before the pool they use is ended. */
function stopParts(parts: StackParts): Promise<void> {
  return runAll([
    () => Promise.resolve(parts.closing.abort()),
    async () => await parts.webhooks?.stop(),
    async () => await parts.realtime?.stop(),
    () => parts.server.shutdown(),
    async () => await parts.sql?.end({ timeout: 5 }),
    async () => await parts.pglite?.stop(),
  ]);
}

/** The gateway's server on 127.0.0.1, answering 503 until `mount` gives it the gateway. */
interface Listener {
  server: Deno.HttpServer<Deno.NetAddr>;
  /** The bound port (a free one for a requested 0). */
  port: number;
  /** `http://127.0.0.1:PORT`. */
  url: string;
  mount(gateway: FetchHandler): void;
}

function listen(requestedPort: number): Listener {
  let gateway: FetchHandler | null = null;
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve(
      { hostname: "127.0.0.1", port: requestedPort, onListen: () => {} },
      (req) => gateway?.fetch(req) ?? starting(),
    );
  } catch (cause) {
    throw new Error(`Cannot listen on 127.0.0.1:${requestedPort}.`, { cause });
  }
  const port = server.addr.port;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    mount: (handler) => {
      gateway = handler;
    },
  };
}

/** The stack's database, as `Stack` describes it. */
type StackDatabase = Pick<Stack, "databaseUrl" | "kind" | "dataDir" | "sql" | "poolMax">;

/** The external Postgres or a new embedded PGlite, the admin pool on it, and the migrations. */
async function startDatabase(
  options: StackOptions,
  externalUrl: string | null,
  parts: StackParts,
  log: (line: string) => void,
): Promise<StackDatabase> {
  let databaseUrl: string;
  let kind: Stack["kind"];
  if (externalUrl) {
    databaseUrl = externalUrl;
    kind = "postgres";
  } else {
    const dataDir = options.dataDir ?? undefined;
    log(`Starting embedded PGlite (${dataDir ? `data in ${dataDir}` : "in memory"})…`);
    parts.pglite = await startPglite({ dataDir, fresh: options.freshData });
    databaseUrl = parts.pglite.url;
    kind = "pglite";
  }

  const poolMax = kind === "pglite" ? PGLITE_POOL_MAX : options.poolMax ?? POSTGRES_POOL_MAX;
  const sql = parts.sql = createPool(databaseUrl, {
    max: poolMax,
    connectTimeoutS: kind === "pglite" ? PGLITE_CONNECT_TIMEOUT_S : undefined,
  });
  if (options.migrate ?? true) {
    const { applied } = await migrate(sql, { bootstrap: true, log });
    log(`Migrations: ${applied.length} applied.`);
  }
  return { databaseUrl, kind, dataDir: parts.pglite?.dataDir ?? null, sql, poolMax };
}

/** The configuration and the services on the database that the gateway mounts. */
interface StackServices {
  config: Config;
  keys: ApiKeySet;
  auth: LocalAuth;
  realtime: LocalRealtime;
}

/** Starts the local Auth, Realtime and webhook worker, and loads the functions' configuration. */
async function startServices(
  options: StackOptions,
  listener: Listener,
  db: StackDatabase,
  parts: StackParts,
): Promise<StackServices> {
  const { sql, kind } = db;
  const { jwtSecret, ...keyConfig } = await loadConfig(stackEnv(options, listener.port, null));
  const keys = stackKeys({ jwtSecret, ...keyConfig });
  const auth = await startLocalAuth({ sql, url: listener.url, keys, jwtSecret });
  const config = await loadConfig(
    stackEnv(options, listener.port, kind === "postgres" ? db.databaseUrl : null, auth),
  );
  const realtime = parts.realtime = await startLocalRealtime({
    sql,
    kind,
    verifier: createTokenVerifier(config),
    keys,
  });
  // Webhook delivery, which a hosted project drives from Cron (POST webhooks.deliver).
  parts.webhooks = await startWebhookWorker({
    sql,
    kind,
    local: config.local,
    closing: parts.closing.signal,
  });
  return { config, keys, auth, realtime };
}

/** The functions, Auth, Realtime and the console behind one gateway. */
function stackGateway(
  { config, keys, auth, realtime }: StackServices,
  sql: postgres.Sql,
  url: string,
  closing: AbortSignal,
): FetchHandler {
  return createGateway(buildFunctions(config, sql, closing), {
    mounts: {
      "/auth/v1": auth,
      "/realtime/v1": realtime,
      // The learner's web console (web/), pointed at this stack.
      [CONSOLE_PATH]: createConsoleSite({
        supabaseUrl: url,
        publishableKey: keys.publishable[0],
      }),
    },
  });
}

/** Starts a local stack. Everything it started is stopped again if a later step fails. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const log = options.log ?? (() => {});
  const externalUrl = options.databaseUrl === undefined
    ? Deno.env.get("SUPABASE_DB_URL")?.trim() || null
    : options.databaseUrl;
  const requestedPort = options.port ?? Number(options.env?.PORT?.trim() || LOCAL_PORT);

  // Validate the configuration before starting anything, so a bad variable fails in milliseconds.
  await loadConfig(stackEnv(options, requestedPort, externalUrl));

  // Claim the port first: a busy port fails before the slow database start, and with port 0
  // the bound port is known for EDGE_BASE_URL. Until the apps exist the gateway answers 503.
  const listener = listen(requestedPort);
  const parts: StackParts = {
    server: listener.server,
    closing: new AbortController(),
    pglite: null,
    sql: null,
    realtime: null,
    webhooks: null,
  };
  const stopAll = () => stopParts(parts);
  try {
    const db = await startDatabase(options, externalUrl, parts, log);
    const services = await startServices(options, listener, db, parts);
    listener.mount(stackGateway(services, db.sql, listener.url, parts.closing.signal));

    const { url } = listener;
    const { config, keys, auth } = services;
    let stopping: Promise<void> | null = null;
    return {
      url,
      functionsUrl: `${url}/functions/v1`,
      ...db,
      config,
      keys,
      auth,
      stop: () => stopping ??= stopAll(),
    };
  } catch (error) {
    // The startup error is the one worth reporting; a failing cleanup would only hide it.
    await stopAll().catch(() => {});
    throw error;
  }
}
