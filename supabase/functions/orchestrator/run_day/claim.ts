/**
 * Claiming a learning day (spec 5.4, single flight across isolates): one statement,
 * `wisely.claim_day` (migration 20260101001700), reads the intent and the day's session and,
 * when a run is needed, claims the (intent, week, day) in `wisely.run_claims` (through
 * `wisely.claim_run`, which fixes the claim's expiry) and reads agents, settings, history, cache
 * and learner model; a second look at the session and COMMIT go out in the same round trip. A
 * request that finds the day claimed waits for the other run's session instead; a failed run
 * releases its claim so the waiting ones can take over.
 */
import {
  type CacheEntry,
  cacheRowsFromJson,
  pickCacheEntries,
} from "../../_shared/agents/cache.ts";
import { sleep } from "../../_shared/agents/deadline.ts";
import { type AgentConfig, parseAgentRows } from "../../_shared/agents/registry.ts";
import { z } from "zod";
import { commitBehind, type Tx } from "../../_shared/db.ts";
import {
  LEARNER_MODEL_LIMITS,
  learnerFromModel,
  type LoadedLearner,
} from "../../_shared/memory/learner.ts";
import type { DayRunBody } from "../../_shared/schemas.ts";
import { type Settings, settingsFromRows } from "../../_shared/settings.ts";
import type { UserDb } from "../../_shared/user_db.ts";
import type { IntentRow } from "../intents.ts";
import type { WaitingRun } from "../provisional.ts";
import type { SessionRow } from "../sessions.ts";
import { agentRequest, previousCompletion } from "./fan_out.ts";

/** A claim whose release failed (database gone) is retried this often, then left to expire. */
const RELEASE_RETRY_MS = 1_000;
const RELEASE_ATTEMPTS = 5;
/** How often a waiting request looks for the claimed run's session: starts fast, backs off. */
const WAIT_POLL_FIRST_MS = 25;
const WAIT_POLL_MAX_MS = 250;

/** The learner's day a run is about: whose transactions, and which day. */
export interface DayRef {
  userId: string;
  /** The user's transactions (user_db.ts): the request's, or day.tick's plain ones. */
  db: UserDb;
  body: DayRunBody;
}

/** The intent's completions so far, and the last one before the day (`wisely.day_history`). */
const HistorySchema = z.object({
  completed_sessions: z.int().min(0),
  last_confidence: z.int().nullable(),
  last_completion_time_min: z.int().nullable(),
  last_hint: z.string().nullable(),
  last_week: z.int().nullable(),
  last_day: z.int().nullable(),
  last_planned_minutes: z.int().nullable(),
});
export type History = z.infer<typeof HistorySchema>;

/** The registry rows as one jsonb array; each row is validated by parseAgentRows. */
const AgentRowsJson = z.array(z.unknown());

/** A day this request claimed, with everything its run needs. */
export interface ClaimedRun {
  intent: IntentRow;
  claimId: string;
  agents: AgentConfig[];
  settings: Settings;
  history: History;
  /** The learner model of the day (memory/learner.ts). */
  learner: LoadedLearner;
  cache: Map<AgentConfig["name"], CacheEntry>;
}

/** What the first transaction found. */
export type Loaded =
  | { kind: "no_intent" }
  | { kind: "existing"; session: SessionRow }
  | { kind: "busy"; expiresAt: Date; waiting: WaitingRun }
  | { kind: "run"; claimed: ClaimedRun };

/** A run of the day finished between the first look and the claim (the claim is to release). */
interface Finished {
  kind: "finished";
  session: StoredSession;
  intentId: string;
  claimId: string;
}

/**
 * `stale`: a session nobody opened yet whose inputs changed since it was composed (a
 * completion marked it, or it was planned for an earlier local date): composed again instead
 * of returned (migration 20260101000900).
 */
type StoredSession = SessionRow & { opened_at: Date | null; stale: boolean };

/** The day's session through `wisely.day_session` (migration 20260101001600, plan kept). */
function sessionQuery(tx: Tx, userId: string, body: DayRunBody) {
  return tx<StoredSession[]>`
    select (d.session).*, d.stale from wisely.day_session(${userId}, ${body.week}, ${body.day}) d
  `;
}

/** A stored session is returned as it is unless it is stale or the learner forces a refresh. */
function reusable(session: StoredSession | undefined, body: DayRunBody): session is StoredSession {
  return session !== undefined && !body.force_refresh && !session.stale;
}

/**
 * Returns the stored session, marking it opened when the learner is the one shown it (its
 * `state` follows: a trigger of migration 20260101001100 keeps it true to opened_at, planned_on
 * and the completion; day.tick's runs, `opens: false`, leave it `planned`). The transaction's
 * last step.
 */
async function returnExisting(tx: Tx, session: StoredSession, opens: boolean): Promise<Loaded> {
  if (opens && session.opened_at === null) {
    const opened = tx`update wisely.sessions set opened_at = now() where id = ${session.id}`;
    await commitBehind(tx, opened.execute());
  }
  return { kind: "existing", session };
}

/**
 * A reusable session the function saw was gone by the second look: the learner's active intent
 * changed in between (intent.sync committed). The transaction is run again.
 */
interface Moved {
  kind: "moved";
}

/**
 * The first step of a run: the stored session, or a claim (or someone else's). One
 * transaction, and a second one only when a run of the day finished between the first look
 * and the claim: the first has ended by then (its COMMIT went out with the claim), so the
 * second releases the claim and returns that run's session.
 */
export async function loadDay(day: DayRef, edgeBaseUrl: string, opens: boolean): Promise<Loaded> {
  const { userId, body } = day;
  const first = () => day.db.transaction((tx) => load(tx, userId, body, edgeBaseUrl, opens));
  let loaded = await first();
  // Twice at most: a second change of intent within one round trip ends as no intent.
  if (loaded.kind === "moved") loaded = await first();
  if (loaded.kind === "moved") return { kind: "no_intent" };
  if (loaded.kind !== "finished") return loaded;
  const finished = loaded;
  return await day.db.transaction(async (tx) => {
    await releaseClaim(tx, finished.intentId, body, finished.claimId);
    return await returnExisting(tx, finished.session, opens);
  });
}

/** What `wisely.claim_day` returns: the intent's columns, then the claim and the run's reads. */
interface ClaimDayRow extends IntentRow {
  kind: "existing" | "run" | "busy";
  /** Null when another run holds the day (`busy`) or none is needed (`existing`). */
  claim_id: string | null;
  claim_expires_at: Date | null;
  /** jsonb (null for `existing`), validated where they are read. */
  history: unknown;
  agents: unknown;
  settings: unknown;
  cache: unknown;
  learner: unknown;
}

function claimDayQuery(tx: Tx, userId: string, body: DayRunBody, opens: boolean) {
  const limits = LEARNER_MODEL_LIMITS;
  return tx<ClaimDayRow[]>`
    select (c.intent).*, c.kind, c.claim_id, c.claim_expires_at, c.history, c.agents,
      c.settings, c.cache, c.learner
    from wisely.claim_day(${userId}, ${body.week}, ${body.day}, ${body.research},
      ${body.force_refresh}, ${opens}, ${limits.masteryWindowDays}, ${limits.memoryRows}) c
  `;
}

/**
 * The first transaction of a run, one round trip with its COMMIT: `wisely.claim_day`, then a
 * second look at the session. That statement's snapshot is taken after the claim, so it also
 * catches a run that finished between the function's first look and its claim.
 */
async function load(
  tx: Tx,
  userId: string,
  body: DayRunBody,
  edgeBaseUrl: string,
  opens: boolean,
): Promise<Loaded | Finished | Moved> {
  const [[row], [session]] = await commitBehind(
    tx,
    Promise.all([
      claimDayQuery(tx, userId, body, opens).execute(),
      sessionQuery(tx, userId, body).execute(),
    ]),
  );
  if (!row) return { kind: "no_intent" };
  const { intent, claim, reads } = splitRow(row);
  // The function saw it reusable (and marked it opened).
  if (claim.kind === "existing") return session ? { kind: "existing", session } : { kind: "moved" };
  const history = HistorySchema.parse(reads.history);
  const agents = parseAgentRows(AgentRowsJson.parse(reads.agents), edgeBaseUrl);
  const settings = settingsFromRows(reads.settings);
  const learner = learnerFromModel(reads.learner);
  const cache = pickCacheEntries(agents, cacheRowsFromJson(reads.cache), {
    intentId: intent.id,
    week: body.week,
    day: body.day,
  });
  if (claim.kind === "busy" || claim.claimId === null) {
    // What a provisional answer needs if the other run outlasts this request's deadline.
    const waiting: WaitingRun = {
      intent,
      agents,
      settings,
      cache,
      request: agentRequest(userId, intent, body, history, learner),
      previous: previousCompletion(history),
      learner: learner.state,
    };
    return { kind: "busy", expiresAt: claim.expiresAt ?? new Date(), waiting };
  }
  if (reusable(session, body)) {
    return { kind: "finished", session, intentId: intent.id, claimId: claim.claimId };
  }
  return {
    kind: "run",
    claimed: { intent, claimId: claim.claimId, agents, settings, history, learner, cache },
  };
}

/** The intent's columns and the claim's, of one `wisely.claim_day` row. */
function splitRow(row: ClaimDayRow) {
  const { kind, claim_id, claim_expires_at, history, agents, settings, cache, learner, ...intent } =
    row;
  return {
    intent,
    claim: { kind, claimId: claim_id, expiresAt: claim_expires_at },
    reads: { history, agents, settings, cache, learner },
  };
}

function releaseClaim(tx: Tx, intentId: string, body: DayRunBody, claimId: string) {
  return tx`select wisely.release_run(${intentId}, ${body.week}, ${body.day}, ${claimId})`;
}

/**
 * Releases a claim after a failed run, retrying for a few seconds when the database itself is
 * what failed, so waiting requests can take over before the claim expires. Never throws.
 */
export async function releaseAfterFailure(day: DayRef, claimed: ClaimedRun): Promise<void> {
  for (let attempt = 1; attempt <= RELEASE_ATTEMPTS; attempt++) {
    try {
      await day.db.transaction((tx) =>
        releaseClaim(tx, claimed.intent.id, day.body, claimed.claimId)
      );
      return;
    } catch {
      if (attempt < RELEASE_ATTEMPTS) await sleep(RELEASE_RETRY_MS);
    }
  }
}

/** How a wait for another request's run of the day ended. */
export type Waited =
  | { kind: "session"; session: SessionRow }
  /** The claim expired or vanished without a session: the caller may claim the day. */
  | { kind: "free" }
  /** This request's own deadline came first: it answers provisionally (provisional.ts). */
  | { kind: "deadline" };

/**
 * Waits while another request runs the day, polling until its claim is released (its session,
 * or `free`), or until `endsAt` (`deadline`): a waiting request never outlives its own
 * deadline, whatever the other run's is.
 */
export async function waitForClaimedRun(
  day: DayRef,
  intentId: string,
  expiresAt: Date,
  endsAt: number,
): Promise<Waited> {
  let delay = WAIT_POLL_FIRST_MS;
  while (Date.now() < expiresAt.getTime()) {
    const left = endsAt - performance.now();
    if (left <= 0) return { kind: "deadline" };
    await sleep(Math.min(delay, left));
    delay = Math.min(delay * 2, WAIT_POLL_MAX_MS);
    const [claim, session] = await day.db.transaction((tx) =>
      Promise.all([
        tx`
          select 1 from wisely.run_claims
          where intent_id = ${intentId} and week = ${day.body.week}
            and day = ${day.body.day} and expires_at > now()
        `,
        sessionQuery(tx, day.userId, day.body),
      ])
    );
    if (claim.length === 0) {
      return session[0] ? { kind: "session", session: session[0] } : { kind: "free" };
    }
  }
  return { kind: "free" };
}
