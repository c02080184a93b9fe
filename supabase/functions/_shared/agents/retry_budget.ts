/**
 * A retry budget per agent (spec 6.3), as gRPC's retry throttling (gRFC A6): a token bucket that
 * a failed attempt drains by 1 and a successful one refills by `tokenRatio`; retries are allowed
 * only while more than half the tokens are left. When an agent fails for every run, the bucket
 * empties and only first attempts reach it, so retries cannot multiply the load on a sick agent.
 *
 * Addition to gRPC: a slow passive refill (`refillPerSecond`). Without it a budget drained while
 * the agent was down would recover only through successes, which, with retries off and the
 * breaker skipping calls, can take a long time to come.
 */

export interface RetryBudgetOptions {
  /** Bucket size; the bucket starts full. Default 10 (gRPC's `maxTokens` ranges 1..1000). */
  maxTokens?: number;
  /** Tokens a success earns back. Default 0.1. */
  tokenRatio?: number;
  /** Tokens regained per second with no traffic. Default 0.1 (empty to usable in about 50 s). */
  refillPerSecond?: number;
  /** Clock, milliseconds. Default `Date.now`. */
  now?: () => number;
}

export const DEFAULT_RETRY_BUDGET_MAX_TOKENS = 10;
export const DEFAULT_RETRY_BUDGET_TOKEN_RATIO = 0.1;
export const DEFAULT_RETRY_BUDGET_REFILL_PER_SECOND = 0.1;

export class RetryBudget {
  readonly maxTokens: number;
  readonly tokenRatio: number;
  readonly refillPerSecond: number;
  readonly #now: () => number;
  #tokens: number;
  #updatedAt: number;

  constructor(options: RetryBudgetOptions = {}) {
    this.maxTokens = options.maxTokens ?? DEFAULT_RETRY_BUDGET_MAX_TOKENS;
    this.tokenRatio = options.tokenRatio ?? DEFAULT_RETRY_BUDGET_TOKEN_RATIO;
    this.refillPerSecond = options.refillPerSecond ?? DEFAULT_RETRY_BUDGET_REFILL_PER_SECOND;
    if (!(this.maxTokens > 0) || !(this.tokenRatio >= 0) || !(this.refillPerSecond >= 0)) {
      throw new RangeError("RetryBudget needs maxTokens > 0, tokenRatio ≥ 0, refillPerSecond ≥ 0.");
    }
    this.#now = options.now ?? Date.now;
    this.#tokens = this.maxTokens;
    this.#updatedAt = this.#now();
  }

  /** Tokens left, passive refill included. */
  get tokens(): number {
    this.#refill();
    return this.#tokens;
  }

  /** Whether a retry may be made now: more than half the tokens are left (gRPC's rule). */
  canRetry(): boolean {
    return this.tokens > this.maxTokens / 2;
  }

  /** A failed attempt the agent is to blame for: one token less (never below 0). */
  recordFailure(): void {
    this.#refill();
    this.#tokens = Math.max(0, this.#tokens - 1);
  }

  /** A successful attempt: `tokenRatio` tokens more (never above `maxTokens`). */
  recordSuccess(): void {
    this.#refill();
    this.#tokens = Math.min(this.maxTokens, this.#tokens + this.tokenRatio);
  }

  #refill(): void {
    const at = this.#now();
    // A clock that steps back adds nothing (and does not move the reference back).
    const elapsedMs = Math.max(0, at - this.#updatedAt);
    this.#tokens = Math.min(this.maxTokens, this.#tokens + elapsedMs / 1000 * this.refillPerSecond);
    this.#updatedAt = Math.max(this.#updatedAt, at);
  }
}
