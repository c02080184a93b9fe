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
import { createPool, isDatabaseUnavailable } from "../../supabase/functions/_shared/db.ts";
import {
  type CallResult,
  dayDoneBody,
  INTENT_BODY,
  type OrchestratorClient,
  weekDay,
} from "./client.ts";
import { checkAcknowledged, checkIntegrity, emptyAcknowledged } from "./verify.ts";
import type { BenchUser } from "./world.ts";

export interface DrillOptions {
  api: OrchestratorClient;
  /** `${functionsUrl}` for health checks. */
  functionsUrl: string;
  /** Superuser pool on the same database, for verification after the drill. */
  admin: postgres.Sql;
  /** Database URL, for the probe pool. */
  databaseUrl: string;
  control: PgControl;
  users: BenchUser[];
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
  /** Each check: ok and a sentence. */
  checks: { name: string; ok: boolean; detail: string }[];
  /** Requests per second by outcome, one line per second. */
  timeline: string[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runOutageDrill(options: DrillOptions): Promise<DrillResult> {
  const log = options.log ?? (() => {});
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const records: RequestRecord[] = [];
  const health: RequestRecord[] = [];
  const ack = emptyAcknowledged();
  const endAt = options.beforeMs + options.outageMs + options.afterMs;
  let phaseEnd = Infinity; // set once the database is back: then learners stop at `after`.

  const call = async (
    user: BenchUser,
    learnerIndex: number,
    method: "GET" | "POST",
    route: string,
    body?: unknown,
  ): Promise<CallResult> => {
    const started = now();
    const result = await options.api.call(user.token, method, route, body, {
      timeoutMs: options.timeoutMs,
    });
    records.push({
      route,
      started,
      ended: now(),
      status: result.status,
      code: result.code,
      retryAfter: result.retryAfter,
      learner: learnerIndex,
    });
    return result;
  };
  const ok = (r: CallResult) => r.status >= 200 && r.status < 300;
  const running = () => now() < Math.min(phaseEnd, endAt + 60_000);

  async function learner(user: BenchUser, index: number) {
    let synced = false;
    let n = 1;
    let session: string | null = null;
    while (running()) {
      let result: CallResult;
      if (!synced) {
        result = await call(user, index, "POST", "intent.sync", INTENT_BODY);
        if (ok(result)) {
          synced = true;
          ack.intents.push(result.body.intent_id);
        }
      } else if (session === null) {
        // A failed day.run is retried for the same day, as a client would.
        result = await call(user, index, "POST", "day.run", weekDay(n));
        if (ok(result)) {
          session = result.body.session_id;
          ack.runs.push({ sessionId: result.body.session_id, revision: result.body.revision });
        }
      } else {
        result = await call(user, index, "POST", "day.done", dayDoneBody(session, n));
        if (ok(result)) {
          ack.completions.push(session);
          session = null;
          n++;
          result = await call(user, index, "GET", "status");
        }
      }
      if (!ok(result)) await sleep(options.pauseAfterErrorMs);
    }
  }

  async function healthLoop() {
    while (running()) {
      const started = now();
      let status = 0;
      let retryAfter: string | null = null;
      let code: string | null = null;
      try {
        const response = await fetch(`${options.functionsUrl}/orchestrator/health`, {
          signal: AbortSignal.timeout(options.timeoutMs),
        });
        status = response.status;
        retryAfter = response.headers.get("retry-after");
        code = response.ok ? null : ((await response.json()) as { code?: string }).code ?? null;
        if (response.bodyUsed === false) await response.body?.cancel();
      } catch (error) {
        code = error instanceof Error ? error.name : "error";
      }
      health.push({ route: "health", started, ended: now(), status, code, retryAfter });
      await sleep(250);
    }
  }

  // The probe: a pool like the orchestrator's, asking `select 1` every 100 ms.
  const probe = createPool(options.databaseUrl, { max: 2 });
  const signatures = new Map<string, ErrorSignature>();
  async function probeLoop() {
    while (running()) {
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
        const seen = signatures.get(key) ?? {
          name,
          code,
          errno,
          message,
          recognised: isDatabaseUnavailable(error),
          count: 0,
        };
        seen.count++;
        signatures.set(key, seen);
      }
      await sleep(100);
    }
  }

  const learners = Promise.all(options.users.map((user, index) => learner(user, index)));
  const background = Promise.all([healthLoop(), probeLoop()]);

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
  phaseEnd = startEnded + options.afterMs;
  await learners;
  await background;
  await probe.end({ timeout: 5 }).catch(() => {});

  // ---- analysis ----------------------------------------------------------------------------------
  const checks: DrillResult["checks"] = [];
  const check = (name: string, pass: boolean, detail: string) =>
    checks.push({ name, ok: pass, detail });
  const all = [...records, ...health];
  const fmt = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

  if (options.serverAlive) {
    check(
      "the server process stays up",
      options.serverAlive(),
      options.serverAlive() ? "it did" : "it EXITED during the drill",
    );
  }
  // The client reports a request it gave up on as code "timeout" (health: "TimeoutError").
  const isHang = (r: RequestRecord) =>
    r.status === 0 && (r.code === "timeout" || r.code === "TimeoutError");
  const hung = all.filter(isHang);
  const refused = all.filter((r) => r.status === 0 && !isHang(r));
  const slowest = all.reduce((m, r) => Math.max(m, r.ended - r.started), 0);
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
    bad5xx.length ? describe(bad5xx) : "none",
  );
  const unavailable = all.filter((r) => r.status === 503);
  const noRetryAfter = unavailable.filter((r) => !r.retryAfter);
  check(
    "every 503 carries Retry-After",
    noRetryAfter.length === 0,
    `${unavailable.length - noRetryAfter.length} of ${unavailable.length}`,
  );
  const during = records.filter((r) => r.started >= stopEnded && r.ended <= startBegan);
  const duringUnavailable = during.filter((r) => r.code === "DATABASE_UNAVAILABLE");
  check(
    "requests during the outage answer 503 DATABASE_UNAVAILABLE",
    during.length > 0 && duringUnavailable.length === during.length,
    `${duringUnavailable.length} of ${during.length} (${describe(during)})`,
  );
  const healthDown = health.filter((r) => r.started >= stopEnded && r.ended <= startBegan);
  check(
    "health answers 503 while the database is down",
    healthDown.length > 0 && healthDown.every((r) => r.status === 503),
    describe(healthDown),
  );
  const after = records.filter((r) => r.started >= startEnded);
  const firstOk = after.find((r) => r.status >= 200 && r.status < 300);
  const recoverWithin = options.recoverWithinMs ?? options.afterMs / 2;
  const tail = records.filter((r) => r.started >= startEnded + recoverWithin);
  const tailBad = tail.filter((r) => r.status < 200 || r.status >= 300);
  const lastBad = after.filter((r) => r.status < 200 || r.status >= 300)
    .reduce((m, r) => Math.max(m, r.ended), startEnded);
  check(
    `the service recovers on its own within ${fmt(recoverWithin)}`,
    firstOk !== undefined && tail.length > 0 && tailBad.length === 0,
    `first 2xx ${firstOk ? fmt(firstOk.ended - startEnded) : "never"} and last failure ` +
      `${fmt(lastBad - startEnded)} after Postgres was back; requests started from ` +
      `${fmt(recoverWithin)} on: ${tail.length - tailBad.length} of ${tail.length} 2xx` +
      (tailBad.length ? ` (${describe(tailBad)}; ${failureDetails(tailBad, startEnded)})` : ""),
  );
  const [claims] = await options.admin<{ n: number }[]>`
    select count(*)::int as n from wisely.run_claims
    where user_id = any(${options.users.map((u) => u.id)}::uuid[])
  `.catch(() => [{ n: 0 }]);
  check(
    "no run claim left behind",
    claims.n === 0,
    `${claims.n} wisely.run_claims rows remain after the drill` +
      (claims.n ? " (their days wait for the claim to expire before anyone may run them)" : ""),
  );
  const lost = await checkAcknowledged(options.admin, ack);
  check(
    "every acknowledged write is stored",
    lost.length === 0,
    lost.length ? lost.join("; ") : `${ack.runs.length} runs, ${ack.completions.length} ` +
      `completions, ${ack.intents.length} intents`,
  );
  const integrity = await checkIntegrity(options.admin, options.users.map((u) => u.id));
  check(
    "no half-written session, completion or event",
    integrity.problems.length === 0,
    (integrity.problems.length ? integrity.problems.join("; ") + " — " : "") +
      `${integrity.sessions} sessions, ${integrity.revisions} revisions, ` +
      `${integrity.completions} completions, events ${JSON.stringify(integrity.events)}`,
  );

  // ---- timeline ----------------------------------------------------------------------------------
  const timeline: string[] = [];
  const last = Math.ceil(all.reduce((m, r) => Math.max(m, r.ended), 0) / 1000);
  for (let s = 0; s < last; s++) {
    const inSecond = records.filter((r) => r.ended >= s * 1000 && r.ended < (s + 1) * 1000);
    const marks = [
      stopBegan >= s * 1000 && stopBegan < (s + 1) * 1000 ? " ← pg stop" : "",
      startEnded >= s * 1000 && startEnded < (s + 1) * 1000 ? " ← pg back" : "",
    ].join("");
    timeline.push(`${String(s).padStart(3)} s: ${describe(inSecond) || "-"}${marks}`);
  }

  return {
    records,
    health,
    stopBegan,
    stopEnded,
    startBegan,
    startEnded,
    probeErrors: [...signatures.values()].sort((a, b) => b.count - a.count),
    checks,
    timeline,
  };
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
