/**
 * A user request's gate: its rate-limit charge and its Idempotency-Key claim, done by the
 * request's first database statement so that neither costs a round trip of its own.
 *
 * The pipeline's `requestGate` step (gate_middleware.ts) creates the gate and hands the handler
 * a `UserDb` built with it (`ctx.db`, user_db.ts); the handler's first `ctx.db.transaction`
 * runs it:
 * - without a key, the token take replaces the transaction's first statement (the claims
 *   statement, `wisely.enter_request`): no extra statement at all, and no round trip of its
 *   own, since the handler's statements are sent right behind it (user_db.ts). Refused, it
 *   raises, so the transaction is aborted and none of them runs: 429. If that transaction rolls
 *   back (a 404, a conflict), the take is undone with it, so the gate takes the token again on
 *   its own: every request that reached the database is charged once.
 * - with a key, one autocommit statement takes the token and claims the key
 *   (`wisely.idempotency_claim`) before the transaction begins; refused, reused, in use or
 *   stored, the handler stops there (429, 422, 409, or the replay). When the response is known,
 *   `complete` (the `idempotentFinish` step) stores it or releases the key (one more statement).
 *
 * So the gate runs before anything is written, and a handler that fails validation before its
 * first query never charges the bucket or claims the key. Handlers must reach the database
 * before they commit to a streaming response (day.run's SSE does: its load transaction runs
 * before the first event), so that a refusal can still be an ordinary response.
 */
import { runInBackground } from "../background.ts";
import { isDatabaseUnavailable, type Sql } from "../db.ts";
import type { LogFields, Logger } from "../log.ts";
import type { GateStatement, RequestGate } from "../user_db.ts";
import { IdempotentReplay, keyInUse, keyReused } from "./idempotency_errors.ts";
import type { KeyedRequest } from "./idempotency_key.ts";
import {
  claimKey,
  finishKey,
  isEventStream,
  isJsonResponse,
  isStorable,
  storedSseBody,
} from "./idempotency_store.ts";
import { SseTail } from "./sse_tail.ts";
import { beginRequest, enterRequest, type RateBucket, rateLimited } from "./rate_limit.ts";

interface Claimed {
  sql: Sql;
  claimsJson: string;
  key: string;
  claim: string;
}

/** Backoff of the background retries of a key's finish the database did not take. */
const FINISH_RETRY_MS = [500, 1000, 2000, 4000, 8000];

export interface GatePlan {
  /** The bucket to charge; null: none. */
  bucket: RateBucket | null;
  /** The request's Idempotency-Key; null: none. */
  idempotency: KeyedRequest | null;
}

export class HttpRequestGate implements RequestGate {
  readonly #plan: GatePlan;
  /** Settles when the first transaction's gate work is done (rejects with its refusal). */
  #first: Promise<void> | null = null;
  #claimed: Claimed | null = null;

  constructor(plan: GatePlan) {
    this.#plan = plan;
  }

  enter(sql: Sql, claimsJson: string): Promise<GateStatement | null> {
    // Only a request's first transaction carries the gate; any other waits for its verdict.
    if (this.#first) return this.#first.then(() => null);
    const first = Promise.withResolvers<void>();
    first.promise.catch(() => {});
    this.#first = first.promise;

    const { bucket, idempotency } = this.#plan;
    if (idempotency) return this.#claim(sql, claimsJson, idempotency, bucket, first);
    if (bucket === null) {
      first.resolve();
      return Promise.resolve(null);
    }
    let taken = false;
    return Promise.resolve({
      run: async (tx) => {
        try {
          await enterRequest(tx, claimsJson, bucket);
          taken = true;
          first.resolve();
        } catch (error) {
          first.reject(error);
          throw error;
        }
      },
      rolledBack: async (pool, error) => {
        first.resolve();
        if (!taken || isDatabaseUnavailable(error)) return;
        // The take went with the rollback; the request still reached the database.
        taken = false;
        await beginRequest(pool, claimsJson, bucket).catch(() => {});
      },
    });
  }

  async #claim(
    sql: Sql,
    claimsJson: string,
    request: KeyedRequest,
    bucket: RateBucket | null,
    first: PromiseWithResolvers<void>,
  ): Promise<null> {
    try {
      const outcome = await claimKey(sql, claimsJson, request, bucket);
      switch (outcome.kind) {
        case "rate_limited":
          throw rateLimited(outcome.retryAfterS);
        case "reused":
          throw keyReused();
        case "in_use":
          throw keyInUse();
        case "replay":
          throw new IdempotentReplay(outcome.status, outcome.body);
        case "claimed":
          this.#claimed = { sql, claimsJson, key: request.key, claim: outcome.claim };
      }
      first.resolve();
      return null;
    } catch (error) {
      first.reject(error);
      throw error;
    }
  }

  /**
   * Called with the request's final response: stores it under the claimed key, or releases
   * the key when the response must not be stored. Returns the response to send (the same
   * status, headers and body). Never throws: a key's finish the database refuses is retried in
   * the background, and until then the key reads as in flight.
   */
  async complete(response: Response, log: Logger, fields: LogFields): Promise<Response> {
    const claimed = this.#claimed;
    if (claimed === null) return response;
    this.#claimed = null;
    if (!isStorable(response.status)) {
      fields.idempotency = "released";
      await this.#finishKeyRetrying(claimed, null, log, fields);
      return response;
    }
    if (isEventStream(response) && response.body) {
      fields.idempotency = "streamed";
      return this.#captureStream(claimed, response, log, fields);
    }
    if (!isJsonResponse(response)) {
      fields.idempotency = "released";
      await this.#finishKeyRetrying(claimed, null, log, fields);
      return response;
    }
    const body = await response.text();
    fields.idempotency = "stored";
    await this.#finishKeyRetrying(claimed, { status: response.status, body }, log, fields);
    return new Response(body, { status: response.status, headers: response.headers });
  }

  /** Streams to the client while following a copy; stores its last event once it ends. */
  #captureStream(
    claimed: Claimed,
    response: Response,
    log: Logger,
    fields: LogFields,
  ): Response {
    const [toClient, toStore] = response.body!.tee();
    const status = response.status;
    const follow = async () => {
      const tail = new SseTail();
      const decoder = new TextDecoder();
      let body: string | null = null;
      try {
        for await (const chunk of toStore) tail.push(decoder.decode(chunk, { stream: true }));
        tail.push(decoder.decode());
        body = storedSseBody(tail.last());
      } catch {
        body = null;
      }
      await this.#finishKeyRetrying(claimed, body === null ? null : { status, body }, log, fields);
    };
    // Outlives the response: under EdgeRuntime.waitUntil where it exists.
    runInBackground(follow());
    return new Response(toClient, { status, headers: response.headers });
  }

  /** Stores `stored` under the key, or releases it (null): one statement, retried if it fails. */
  async #finishKeyRetrying(
    claimed: Claimed,
    stored: { status: number; body: string } | null,
    log: Logger,
    fields: LogFields,
  ): Promise<void> {
    const attempt = () =>
      finishKey(claimed.sql, claimed.claimsJson, claimed.key, claimed.claim, stored);
    try {
      await attempt();
      return;
    } catch (error) {
      log.warn("idempotency.finish_failed", {
        route: fields.route,
        trace_id: fields.trace_id,
        user_id: fields.user_id,
        error_name: error instanceof Error ? error.name : typeof error,
        retrying: true,
      });
    }
    // Not awaited: the response goes out now; the key reads as in flight until this lands.
    runInBackground((async () => {
      for (const delay of FINISH_RETRY_MS) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        try {
          await attempt();
          return;
        } catch {
          // Try again after the next delay.
        }
      }
      log.error("idempotency.finish_abandoned", {
        route: fields.route,
        trace_id: fields.trace_id,
        user_id: fields.user_id,
      });
    })());
  }
}
