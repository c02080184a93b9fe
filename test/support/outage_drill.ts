/**
 * The database-outage drill (spec 10, issue 4 item 3), shared by bench/db_faults.ts and
 * test/e2e/db_outage.test.ts: learners keep using the service while Postgres is stopped
 * (`pg_ctl stop -m fast`) and started again. What must hold:
 *
 * - every request answers within `timeoutMs` (never a hang);
 * - nothing answers 5xx except 503 `DATABASE_UNAVAILABLE`, and those carry `Retry-After`;
 * - the service comes back by itself once the database is back (no restart);
 * - no half-written session, completion or event, and every acknowledged write is stored.
 *
 * A probe pool built like the orchestrator's (`createPool`) runs `select 1` throughout and
 * records every distinct error postgres.js raised, and whether `isDatabaseUnavailable` knew it:
 * the evidence for what the service sees during an outage.
 */
import type postgres from "postgres";
import type { PgControl } from "../../dev/pg_control.ts";
import { isDatabaseUnavailable } from "../../supabase/functions/_shared/db.ts";
import { createPool } from "../../supabase/functions/_shared/pool.ts";
import { type Acknowledged, type Check, emptyAcknowledged, storageChecks } from "./integrity.ts";
import {
  type CallResult,
  dayDoneBody,
  INTENT_BODY,
  isOk,
  type OrchestratorClient,
  storedRun,
  weekDay,
} from "./orchestrator_client.ts";
import type { TestUser } from "./users.ts";

export interface DrillOptions {
  api: OrchestratorClient;
  /** `${functionsUrl}` for health checks. */
  functionsUrl: string;
  /** Superuser pool on the same database, for verification after the drill. */
  admin: postgres.Sql;
  /** Database URL, for the probe pool. */
  databaseUrl: string;
  control: PgControl;
  users: TestUser[];
  /** Load before the database stops. */
  beforeMs: number;
  /** How long the database stays down. */
  outageMs: number;
  /** Load after the database is back (the service must recover within it). */
  afterMs: number;
  /** Bound on each request: an answer later than this is a hang. */
  timeoutMs: number;
  /** A learner's pause after a failed request (a client backing off, kept short to sample). */
  pauseAfterErrorMs: number;
  /**
   * Every request started this long after Postgres accepts connections again must succeed.
   * Default: half of `afterMs`.
   */
  recoverWithinMs?: number;
  /** False once the server process has died (then nothing else can pass). */
  serverAlive?: () => boolean;
  log?: (line: string) => void;
}

export interface RequestRecord {
  route: string;
  started: number;
  ended: number;
  status: number;
  code: string | null;
  retryAfter: string | null;
  /** Which learner asked (an index into the drill's users); absent for health. */
  learner?: number;
}

export interface ErrorSignature {
  name: string;
  code: string;
  errno: string;
  message: string;
  /** What `isDatabaseUnavailable` says of it (true → 503, false → 500). */
  recognised: boolean;
  count: number;
}

export interface DrillResult {
  records: RequestRecord[];
  health: RequestRecord[];
  /** Milliseconds since the drill started. */
  stopBegan: number;
  stopEnded: number;
  startBegan: number;
  startEnded: number;
  probeErrors: ErrorSignature[];
  checks: Check[];
  /** Requests per second by outcome, one line per second. */
  timeline: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the drill's loops share while it runs. */
interface Drill {
  options: DrillOptions;
  now: () => number;
  records: RequestRecord[];
  health: RequestRecord[];
  ack: Acknowledged;
  signatures: Map<string, ErrorSignature>;
  running: () => boolean;
}

/** One request of learner `index`, recorded. */
async function call(
  drill: Drill,
  index: number,
  method: "GET" | "POST",
  route: string,
  body?: unknown,
): Promise<CallResult> {
  const started = drill.now();
  const user = drill.options.users[index];
  const result = await drill.options.api.call(user.token, method, route, body, {
    timeoutMs: drill.options.timeoutMs,
  });
  const { status, code, retryAfter } = result;
  drill.records.push({
    route,
    started,
    ended: drill.now(),
    status,
    code,
    retryAfter,
    learner: index,
  });
  return result;
}

/** intent.sync, then day.run / day.done / status day after day; a failed step is retried. */
async function learner(drill: Drill, index: number) {
  let synced = false;
  let n = 1;
  let session: string | null = null;
  while (drill.running()) {
    let result: CallResult;
    if (!synced) {
      result = await call(drill, index, "POST", "intent.sync", INTENT_BODY);
      if ((synced = isOk(result))) drill.ack.intents.push(result.body.intent_id);
    } else if (session === null) {
      result = await call(drill, index, "POST", "day.run", weekDay(n));
      const stored = storedRun(result);
      if (stored) {
        session = stored.sessionId;
        drill.ack.runs.push(stored);
      }
    } else {
      result = await call(drill, index, "POST", "day.done", dayDoneBody(session, n));
      if (isOk(result)) {
        drill.ack.completions.push(session);
        session = null;
        n++;
        result = await call(drill, index, "GET", "status");
      }
    }
    if (!isOk(result)) await sleep(drill.options.pauseAfterErrorMs);
  }
}

/** `GET health` every 250 ms. */
async function healthLoop(drill: Drill) {
  while (drill.running()) {
    const started = drill.now();
    let status = 0;
    let retryAfter: string | null = null;
    let code: string | null = null;
    try {
      const response = await fetch(`${drill.options.functionsUrl}/orchestrator/health`, {
        signal: AbortSignal.timeout(drill.options.timeoutMs),
      });
      status = response.status;
      retryAfter = response.headers.get("retry-after");
      code = response.ok ? null : ((await response.json()) as { code?: string }).code ?? null;
      if (response.bodyUsed === false) await response.body?.cancel();
    } catch (error) {
      code = error instanceof Error ? error.name : "error";
    }
    drill.health.push({ route: "health", started, ended: drill.now(), status, code, retryAfter });
    await sleep(250);
  }
}

/** A pool like the orchestrator's asking `select 1` every 100 ms; each distinct error kept. */
async function probeLoop(drill: Drill) {
  const probe = createPool(drill.options.databaseUrl, { max: 2 });
  while (drill.running()) {
    try {
      await probe`select 1`;
    } catch (error) {
      const e = error as Record<string, unknown>;
      const name = error instanceof Error ? error.name : typeof error;
      const code = String(e?.code ?? "");
      const errno = String(e?.errno ?? "");
      const message = String(e?.message ?? "").replace(/\d+\.\d+\.\d+\.\d+:\d+/g, "HOST")
        .slice(0, 90);
      const key = `${name}|${code}|${errno}|${message}`;
      const seen = drill.signatures.get(key) ??
        { name, code, errno, message, recognised: isDatabaseUnavailable(error), count: 0 };
      seen.count++;
      drill.signatures.set(key, seen);
    }
    await sleep(100);
  }
  await probe.end({ timeout: 5 }).catch(() => {});
}

/** Stops Postgres after `beforeMs`, starts it after `outageMs`; the four moments it passed. */
async function outage(drill: Drill, setEnd: (at: number) => void): Promise<Moments> {
  const { options, now } = drill;
  const log = options.log ?? (() => {});
  await sleep(options.beforeMs);
  const stopBegan = now();
  log(`stopping Postgres at ${(stopBegan / 1000).toFixed(1)} s`);
  await options.control.stop();
  const stopEnded = now();
  await sleep(options.outageMs);
  const startBegan = now();
  log(`starting Postgres at ${(startBegan / 1000).toFixed(1)} s`);
  await options.control.start();
  const startEnded = now();
  log(`Postgres accepts connections again at ${(startEnded / 1000).toFixed(1)} s`);
  setEnd(startEnded + options.afterMs);
  return { stopBegan, stopEnded, startBegan, startEnded };
}

type Moments = Pick<DrillResult, "stopBegan" | "stopEnded" | "startBegan" | "startEnded">;

export async function runOutageDrill(options: DrillOptions): Promise<DrillResult> {
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const endAt = options.beforeMs + options.outageMs + options.afterMs;
  let phaseEnd = Infinity; // set once the database is back: then learners stop at `after`.
  const drill: Drill = {
    options,
    now,
    records: [],
    health: [],
    ack: emptyAcknowledged(),
    signatures: new Map(),
    running: () => now() < Math.min(phaseEnd, endAt + 60_000),
  };
  const loops = Promise.all([
    ...options.users.map((_, index) => learner(drill, index)),
    healthLoop(drill),
    probeLoop(drill),
  ]);
  const moments = await outage(drill, (at) => (phaseEnd = at));
  await loops;
  const checks = [...checkAnswers(drill, moments), ...await checkStorage(drill)];
  return {
    records: drill.records,
    health: drill.health,
    ...moments,
    probeErrors: [...drill.signatures.values()].sort((a, b) => b.count - a.count),
    checks,
    timeline: timeline(drill, moments),
  };
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
// The client reports a request it gave up on as code "timeout" (health: "TimeoutError").
const isHang = (r: RequestRecord) =>
  r.status === 0 && (r.code === "timeout" || r.code === "TimeoutError");

/** No hang, no dropped connection, only 503 DATABASE_UNAVAILABLE with Retry-After. */
function checkAnswers(drill: Drill, m: Moments): Check[] {
  const { options, records, health } = drill;
  const all = [...records, ...health];
  const checks: Check[] = [];
  const check = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  if (options.serverAlive) {
    const alive = options.serverAlive();
    check("the server process stays up", alive, alive ? "it did" : "it EXITED during the drill");
  }
  const hung = all.filter(isHang);
  const refused = all.filter((r) => r.status === 0 && !isHang(r));
  const slowest = all.reduce((max, r) => Math.max(max, r.ended - r.started), 0);
  check(
    `every request answered within ${options.timeoutMs} ms (no hang)`,
    hung.length === 0,
    `${hung.length} of ${all.length} did not` + (hung.length ? ` (${describe(hung)})` : "") +
      `; slowest answer ${fmt(slowest)}`,
  );
  check(
    "every request got an HTTP answer (no refused or dropped connection)",
    refused.length === 0,
    refused.length ? `${refused.length} of ${all.length}: ${describe(refused)}` : "all did",
  );
  const bad5xx = all.filter((r) =>
    r.status >= 500 && !(r.status === 503 && r.code === "DATABASE_UNAVAILABLE")
  );
  check(
    "no 5xx other than 503 DATABASE_UNAVAILABLE",
    bad5xx.length === 0,
    describe(bad5xx) || "none",
  );
  const unavailable = all.filter((r) => r.status === 503);
  const noRetryAfter = unavailable.filter((r) => !r.retryAfter);
  check(
    "every 503 carries Retry-After",
    noRetryAfter.length === 0,
    `${unavailable.length - noRetryAfter.length} of ${unavailable.length}`,
  );
  return [...checks, ...checkOutageAndRecovery(drill, m)];
}

/** 503s while the database is down; every request from `recoverWithinMs` after it is back 2xx. */
function checkOutageAndRecovery(drill: Drill, m: Moments): Check[] {
  const { options, records, health } = drill;
  const inOutage = (r: RequestRecord) => r.started >= m.stopEnded && r.ended <= m.startBegan;
  const during = records.filter(inOutage);
  const duringUnavailable = during.filter((r) => r.code === "DATABASE_UNAVAILABLE");
  const healthDown = health.filter(inOutage);
  const after = records.filter((r) => r.started >= m.startEnded);
  const firstOk = after.find(isOk);
  const recoverWithin = options.recoverWithinMs ?? options.afterMs / 2;
  const tail = records.filter((r) => r.started >= m.startEnded + recoverWithin);
  const tailBad = tail.filter((r) => !isOk(r));
  const lastBad = after.filter((r) => !isOk(r)).reduce(
    (x, r) => Math.max(x, r.ended),
    m.startEnded,
  );
  return [{
    name: "requests during the outage answer 503 DATABASE_UNAVAILABLE",
    ok: during.length > 0 && duringUnavailable.length === during.length,
    detail: `${duringUnavailable.length} of ${during.length} (${describe(during)})`,
  }, {
    name: "health answers 503 while the database is down",
    ok: healthDown.length > 0 && healthDown.every((r) => r.status === 503),
    detail: describe(healthDown),
  }, {
    name: `the service recovers on its own within ${fmt(recoverWithin)}`,
    ok: firstOk !== undefined && tail.length > 0 && tailBad.length === 0,
    detail: `first 2xx ${firstOk ? fmt(firstOk.ended - m.startEnded) : "never"} and last ` +
      `failure ${fmt(lastBad - m.startEnded)} after Postgres was back; requests started from ` +
      `${fmt(recoverWithin)} on: ${tail.length - tailBad.length} of ${tail.length} 2xx` +
      (tailBad.length ? ` (${describe(tailBad)}; ${failureDetails(tailBad, m.startEnded)})` : ""),
  }];
}

/** No run claim left, every acknowledged write stored, nothing half-written. */
async function checkStorage(drill: Drill): Promise<Check[]> {
  const { admin, users } = drill.options;
  const ids = users.map((u) => u.id);
  const [claims] = await admin<{ n: number }[]>`
    select count(*)::int as n from wisely.run_claims where user_id = any(${ids}::uuid[])
  `.catch(() => [{ n: 0 }]);
  return [{
    name: "no run claim left behind",
    ok: claims.n === 0,
    detail: `${claims.n} wisely.run_claims rows remain after the drill` +
      (claims.n ? " (their days wait for the claim to expire before anyone may run them)" : ""),
  }, ...await storageChecks(admin, drill.ack, ids)];
}

/** Answers per second by route and status, with the moments Postgres stopped and came back. */
function timeline(drill: Drill, m: Moments): string[] {
  const all = [...drill.records, ...drill.health];
  const last = Math.ceil(all.reduce((max, r) => Math.max(max, r.ended), 0) / 1000);
  const inSecond = (t: number, s: number) => t >= s * 1000 && t < (s + 1) * 1000;
  return Array.from({ length: last }, (_, s) => {
    const answers = drill.records.filter((r) => inSecond(r.ended, s));
    const marks = (inSecond(m.stopBegan, s) ? " ← pg stop" : "") +
      (inSecond(m.startEnded, s) ? " ← pg back" : "");
    return `${String(s).padStart(3)} s: ${describe(answers) || "-"}${marks}`;
  });
}

/** `200×12 503 DATABASE_UNAVAILABLE×40 0 timeout×1`. */
export function describe(records: RequestRecord[]): string {
  const counts = new Map<string, number>();
  for (const r of records) {
    const key = r.status === 0
      ? `${r.route} 0 ${r.code}`
      : r.status >= 300
      ? `${r.route} ${r.status} ${r.code ?? ""}`.trim()
      : String(r.status);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}×${n}`).join(
    ", ",
  );
}

/** When each failed request started (after `since`), how long it took and which learner sent it. */
function failureDetails(failed: RequestRecord[], since: number): string {
  return failed.map((r) =>
    `learner ${r.learner ?? "-"} at +${((r.started - since) / 1000).toFixed(1)} s ` +
    `for ${((r.ended - r.started) / 1000).toFixed(1)} s`
  ).join(", ");
}
