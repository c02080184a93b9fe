/**
 * "Nothing lost, nothing half-written": checks of the database against itself and against what
 * the clients were told, for the load test, the database-fault drill and its e2e test; and of a
 * day.run answer's flags against its own signals.
 */
import type postgres from "postgres";
import { AGENT_NAMES } from "../../supabase/functions/_shared/agents/protocol.ts";
import {
  DayRunProvisionalResponse,
  DayRunResponse,
} from "../../supabase/functions/_shared/responses.ts";

export interface IntegrityReport {
  sessions: number;
  revisions: number;
  completions: number;
  events: Record<string, number>;
  /** Each a sentence with a count; empty when everything holds. */
  problems: string[];
}

/**
 * Within `userIds`: every session has a plan_revisions row for each revision 1..revision; every
 * revision exactly one `instructor_plan_created` event (and no event without its revision);
 * every completion exactly one `day_completed` event (and no event without its completion).
 */
export async function checkIntegrity(
  admin: postgres.Sql,
  userIds: readonly string[],
): Promise<IntegrityReport> {
  const ids = [...userIds];
  const problems: string[] = [];
  const one = async (text: string, query: Promise<{ n: number }[]>) => {
    const [row] = await query;
    if (row.n > 0) problems.push(`${row.n} ${text}`);
  };
  const [counts] = await admin<{ sessions: number; revisions: number; completions: number }[]>`
    select
      (select count(*)::int from wisely.sessions where user_id = any(${ids}::uuid[])) as sessions,
      (select count(*)::int from wisely.plan_revisions where user_id = any(${ids}::uuid[]))
        as revisions,
      (select count(*)::int from wisely.completions where user_id = any(${ids}::uuid[]))
        as completions
  `;
  const eventRows = await admin<{ type: string; n: number }[]>`
    select type, count(*)::int as n from wisely.events where user_id = any(${ids}::uuid[])
    group by type order by type
  `;
  await one(
    "sessions miss a plan_revisions row for one of their revisions",
    admin`
      select count(*)::int as n from wisely.sessions s, generate_series(1, s.revision) r
      where s.user_id = any(${ids}::uuid[]) and not exists (
        select 1 from wisely.plan_revisions p where p.session_id = s.id and p.revision = r)
    `,
  );
  await one(
    "plan revisions have no instructor_plan_created event",
    admin`
      select count(*)::int as n from wisely.plan_revisions p
      where p.user_id = any(${ids}::uuid[]) and not exists (
        select 1 from wisely.events e
        where e.user_id = p.user_id and e.type = 'instructor_plan_created'
          and e.payload->>'session_id' = p.session_id::text
          and (e.payload->>'revision')::int = p.revision)
    `,
  );
  await one(
    "instructor_plan_created events are duplicated or name no stored revision",
    admin`
      select coalesce(sum(case when p.session_id is null then c.n else c.n - 1 end), 0)::int as n
      from (
        select e.payload->>'session_id' as session_id, (e.payload->>'revision')::int as revision,
          count(*)::int as n
        from wisely.events e
        where e.user_id = any(${ids}::uuid[]) and e.type = 'instructor_plan_created'
        group by 1, 2
      ) c
      left join wisely.plan_revisions p
        on p.session_id::text = c.session_id and p.revision = c.revision
      where p.session_id is null or c.n > 1
    `,
  );
  await one(
    "completions have no day_completed event",
    admin`
      select count(*)::int as n from wisely.completions c
      where c.user_id = any(${ids}::uuid[]) and not exists (
        select 1 from wisely.events e
        where e.user_id = c.user_id and e.type = 'day_completed'
          and e.payload->>'session_id' = c.session_id::text)
    `,
  );
  await one(
    "day_completed events are duplicated or name no stored completion",
    admin`
      select coalesce(sum(case when c.session_id is null then d.n else d.n - 1 end), 0)::int as n
      from (
        select e.payload->>'session_id' as session_id, count(*)::int as n
        from wisely.events e
        where e.user_id = any(${ids}::uuid[]) and e.type = 'day_completed'
        group by 1
      ) d
      left join wisely.completions c on c.session_id::text = d.session_id
      where c.session_id is null or d.n > 1
    `,
  );
  return {
    ...counts,
    events: Object.fromEntries(eventRows.map((r) => [r.type, r.n])),
    problems,
  };
}

/** What clients were told succeeded. */
export interface Acknowledged {
  /** day.run 2xx answers: the session and revision they named. */
  runs: { sessionId: string; revision: number }[];
  /** day.done 2xx answers: the session completed. */
  completions: string[];
  /** intent.sync 2xx answers: the intent named. */
  intents: string[];
}

export function emptyAcknowledged(): Acknowledged {
  return { runs: [], completions: [], intents: [] };
}

/** Every acknowledged write is in the database. Problems as sentences; empty when all hold. */
export async function checkAcknowledged(
  admin: postgres.Sql,
  ack: Acknowledged,
): Promise<string[]> {
  const problems: string[] = [];
  const runKeys = ack.runs.map((r) => `${r.sessionId}:${r.revision}`);
  const [runs] = await admin<{ n: number }[]>`
    select count(*)::int as n from unnest(${runKeys}::text[]) k
    where not exists (
      select 1 from wisely.plan_revisions p
      where p.session_id::text || ':' || p.revision = k)
  `;
  if (runs.n > 0) problems.push(`${runs.n} acknowledged day.run answers have no stored revision`);
  const [done] = await admin<{ n: number }[]>`
    select count(*)::int as n from unnest(${ack.completions}::uuid[]) s
    where not exists (select 1 from wisely.completions c where c.session_id = s)
  `;
  if (done.n > 0) problems.push(`${done.n} acknowledged day.done answers have no completion`);
  const [intents] = await admin<{ n: number }[]>`
    select count(*)::int as n from unnest(${ack.intents}::uuid[]) i
    where not exists (select 1 from wisely.intents t where t.id = i)
  `;
  if (intents.n > 0) problems.push(`${intents.n} acknowledged intent.sync answers have no intent`);
  return problems;
}

/** A named check with its outcome and a sentence, as the load test and the drill print them. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** `- ok — name: detail` (or `FAIL`), a Markdown list item. */
export const checkLine = (c: Check) => `- ${c.ok ? "ok" : "FAIL"} — ${c.name}: ${c.detail}`;

/** `checkAcknowledged` and `checkIntegrity` over `userIds`, as two checks. */
export async function storageChecks(
  admin: postgres.Sql,
  ack: Acknowledged,
  userIds: readonly string[],
): Promise<Check[]> {
  const lost = await checkAcknowledged(admin, ack);
  const integrity = await checkIntegrity(admin, userIds);
  return [{
    name: "every acknowledged write is stored",
    ok: lost.length === 0,
    detail: lost.length ? lost.join("; ") : `${ack.runs.length} runs, ` +
      `${ack.completions.length} completions, ${ack.intents.length} intents`,
  }, {
    name: "no half-written session, completion or event",
    ok: integrity.problems.length === 0,
    detail: (integrity.problems.length ? integrity.problems.join("; ") + " — " : "") +
      `${integrity.sessions} sessions, ${integrity.revisions} revisions, ` +
      `${integrity.completions} completions, events ${JSON.stringify(integrity.events)}`,
  }];
}

/** A 2xx day.run answer: the stored plan (200) or the provisional one (202). */
export const DayRunAnswer = DayRunResponse.or(DayRunProvisionalResponse);

/** The signal sources that count as a cache hit (agents/signal.ts, `isCacheHit`). */
export const HIT_SOURCES: ReadonlySet<string> = new Set(["cache", "revalidated", "stale"]);
/** The signal sources of an agent that answered this run, over the network. */
export const NETWORK_SOURCES: ReadonlySet<string> = new Set(["network", "revalidated"]);
/** The signal sources that are fresh (everything but `stale` and `fallback`). */
const FRESH_SOURCES: ReadonlySet<string> = new Set(["cache", "revalidated", "network"]);

/**
 * What in a day.run answer contradicts spec 5.4/6.3: a signal per agent; degraded iff some agent
 * is unavailable; available, fresh and source agree; cache_hits counts the hit sources, and hits
 * and misses the signals; an agent of `failing` (every call fails) did not answer this run. Each
 * a short sentence; empty when all hold.
 */
export function flagProblems(answer: unknown, failing: readonly string[] = []): string[] {
  const parsed = DayRunAnswer.safeParse(answer);
  if (!parsed.success) return ["not a day.run answer"];
  const body = parsed.data;
  const signals = AGENT_NAMES.flatMap((agent) => {
    const quality = body.signal_quality[agent];
    return quality ? [{ agent, ...quality }] : [];
  });
  const problems = signals.length === AGENT_NAMES.length ? [] : [`${signals.length} agents`];
  if (body.degraded_mode !== signals.some((q) => !q.available)) {
    problems.push(`degraded_mode ${body.degraded_mode} disagrees with availability`);
  }
  for (const { agent, available, fresh, source = "" } of signals) {
    if (available !== (source !== "fallback")) problems.push(`${agent}: available/source`);
    if (fresh !== FRESH_SOURCES.has(source)) problems.push(`${agent}: fresh/source`);
    if (failing.includes(agent) && NETWORK_SOURCES.has(source)) {
      problems.push(`${agent} answered (${source}) although it always fails`);
    }
  }
  const hits = signals.filter((q) => HIT_SOURCES.has(q.source ?? "")).length;
  if (body.cache_hits !== hits) problems.push(`cache_hits ${body.cache_hits}, sources say ${hits}`);
  if (body.cache_hits + body.cache_misses !== signals.length) problems.push("hits + misses");
  return problems;
}
