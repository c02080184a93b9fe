/**
 * Fault injection for the reference agents (spec 6.4): latency, error statuses, `Retry-After`,
 * malformed payloads and hangs, for tests and benchmarks. A server consults its `FaultPlan`
 * only when `config.agentFaultInjection` is true (local stack only), so none of this can be
 * triggered in production.
 *
 * The `X-Wisely-Fault` request header is one plan; others (e.g. the persistent plan for "the
 * next N calls" in `fault_plan.ts`) implement the same interface and compose with `firstFault`.
 */
import { z } from "zod";

/** The request header carrying a fault as JSON, e.g. `{"status": 503, "retry_after": "1"}`. */
export const FAULT_HEADER = "X-Wisely-Fault";

/** Statuses a fault may answer with (`Response` cannot carry 1xx). */
const FaultStatusSchema = z.int().min(200).max(599);

export const FaultSchema = z.strictObject({
  /** Wait this long before answering (ends early if the client goes away). */
  latency_ms: z.int().min(0).max(600_000).optional(),
  /** Never answer; the request ends only when the client goes away. */
  hang: z.boolean().optional(),
  /** Answer with this status and an `{ok: false}` body instead of the content (200 = no fault). */
  status: FaultStatusSchema.optional(),
  /** `Retry-After` value (delay-seconds or an HTTP date) added to the answer. */
  retry_after: z.union([z.string().min(1).max(64), z.int().min(0)]).optional(),
  /**
   * Answer 200 with a malformed payload: `true` or `"schema"` gives JSON that fails the agent's
   * schema, `"json"` gives a body that is not JSON at all.
   */
  malformed: z.union([z.boolean(), z.enum(["schema", "json"])]).optional(),
  /**
   * Answer the requested day alone even when the request accepts a week pack: the agent
   * behaves as one written to the original protocol (spec 6.1).
   */
  single_day: z.boolean().optional(),
});
export type Fault = z.output<typeof FaultSchema>;

/** Where faults come from. `next` is asked once per request and may consume the fault. */
export interface FaultPlan {
  next(request: Request): Fault | null;
}

/** The fault header was present but not a valid fault. */
export class FaultSpecError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "FaultSpecError";
  }
}

/** Reads `X-Wisely-Fault`; throws `FaultSpecError` when it is present but invalid. */
export const headerFaultPlan: FaultPlan = {
  next(request) {
    const raw = request.headers.get(FAULT_HEADER);
    if (raw === null || raw.trim() === "") return null;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (cause) {
      throw new FaultSpecError(`${FAULT_HEADER} must be a JSON object.`, { cause });
    }
    const parsed = FaultSchema.safeParse(json);
    if (!parsed.success) {
      throw new FaultSpecError(
        `${FAULT_HEADER} is not a valid fault: ${z.prettifyError(parsed.error)}`,
        {
          cause: parsed.error,
        },
      );
    }
    return parsed.data;
  },
};

/** The first fault any of `plans` has for this request (later plans are not consulted). */
export function firstFault(...plans: FaultPlan[]): FaultPlan {
  return {
    next(request) {
      for (const plan of plans) {
        const fault = plan.next(request);
        if (fault) return fault;
      }
      return null;
    },
  };
}
