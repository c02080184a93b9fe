/**
 * Request bodies of the reference agents: JSON of at most 64 KiB (the orchestrator's own
 * limit, `MAX_BODY_BYTES`), then validated with body.ts' `validate`. Failures throw `ApiError`
 * (400, 413), which the router answers with the protocol's error body.
 *
 * Laxer than the orchestrator's `readJson` (any `Content-Type`, lenient UTF-8, no duplicate-key
 * or depth check): the protocol never asked that of its callers, so a stricter agent would
 * refuse calls it has always answered.
 */
import { ApiError } from "../../errors.ts";
import { readLimited } from "../../http/body.ts";

/** Reads the body as JSON; 413 over 64 KiB, 400 when it cannot be read or is not JSON. */
export async function readAgentJson(request: Request): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    bytes = await readLimited(request);
  } catch (error) {
    if (error instanceof ApiError && error.code === "PAYLOAD_TOO_LARGE") throw error;
    throw new ApiError(400, "INVALID_REQUEST", "The request body could not be read.", {
      cause: error,
    });
  }
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new ApiError(400, "INVALID_REQUEST", "The request body is not valid JSON.", { cause });
  }
}
