// @ts-check
/// <reference lib="dom" />
/**
 * Any failure as a sentence a learner can act on, never raw JSON: the SDK's OrchestratorError
 * (with field-level sentences for validation failures), Auth's errors, and the unexpected.
 */
import { OrchestratorError } from "@wisely/sdk";

/**
 * @typedef {object} Described
 * @property {string} message One or more sentences.
 * @property {string[]} fields The form fields (API names) the message is about.
 */

/** Form labels by API field name, for validation messages. */
const FIELD_LABELS = /** @type {Record<string, string>} */ ({
  topic: "Topic",
  end_goal: "Goal",
  depth: "Depth",
  time_per_day_min: "Minutes a day",
  user_tz: "Time zone",
  meta: "Settings",
  plan_time: "Plan time",
  completion_time_min: "Minutes spent",
  confidence: "Confidence",
  notes: "Notes",
  session_id: "Session",
  week: "Week",
  day: "Day",
});

/** zod's wording → the console's, by pattern. */
const RULES = /** @type {[RegExp, (m: RegExpMatchArray) => string][]} */ ([
  [/expected string to have >=1 character/, () => "can't be empty"],
  [
    /expected string to have >=(\d+) characters/,
    (m) => `needs at least ${m[1]} characters`,
  ],
  [
    /expected string to have <=(\d+) characters/,
    (m) => `can have at most ${m[1]} characters`,
  ],
  [
    /Too small: expected number to be >=(\S+)/,
    (m) => `must be at least ${m[1]}`,
  ],
  [/Too big: expected number to be <=(\S+)/, (m) => `must be at most ${m[1]}`],
  [/expected int/, () => "must be a whole number"],
  [/expected number/, () => "must be a number"],
  [/expected one of/, () => "must be one of the choices offered"],
]);

/** @param {string} message */
function humanize(message) {
  for (const [pattern, say] of RULES) {
    const match = message.match(pattern);
    if (match) return say(match);
  }
  const text = message.replace(/[.\s]+$/, "");
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** @param {string} text */
function sentence(text) {
  const trimmed = text.trim().replace(/\s+/g, " ");
  if (trimmed === "") return "Something went wrong.";
  const first = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** @param {number | null} seconds */
function inSeconds(seconds) {
  if (seconds === null) return "in a moment";
  if (seconds <= 1) return "in a second";
  if (seconds < 90) return `in ${seconds} seconds`;
  return `in about ${Math.round(seconds / 60)} minutes`;
}

/** @param {OrchestratorError} error @returns {Described} */
function describeApiError(error) {
  switch (error.code) {
    case "INVALID_REQUEST": {
      if (error.details.length === 0) {
        return { message: sentence(error.message), fields: [] };
      }
      const fields = error.details.map((d) => String(d.path[d.path.length - 1] ?? d.path[0]));
      const lines = error.details.map((detail, i) => {
        const label = FIELD_LABELS[fields[i]] ?? "A field";
        return sentence(`${label} ${humanize(detail.message)}`);
      });
      return { message: [...new Set(lines)].join(" "), fields };
    }
    case "RATE_LIMITED":
      return {
        message: `That was a lot of requests at once. Try again ${inSeconds(error.retryAfter)}.`,
        fields: [],
      };
    case "DATABASE_UNAVAILABLE":
      return {
        message: `The service is busy right now. Try again ${inSeconds(error.retryAfter)}.`,
        fields: [],
      };
    case "UNAUTHORIZED":
      return {
        message: "Your session has ended. Please sign in again.",
        fields: [],
      };
    case "NETWORK_ERROR":
      return {
        message: "Could not reach the server. Check your connection and try again.",
        fields: [],
      };
    case "INTERNAL":
    case "UNEXPECTED_RESPONSE":
      return {
        message: "Something went wrong on our side. Please try again.",
        fields: [],
      };
    default:
      return { message: sentence(error.message), fields: [] };
  }
}

/** Auth's codes (GoTrue's `error_code`) that deserve their own sentence. */
const AUTH_MESSAGES = /** @type {Record<string, string>} */ ({
  invalid_credentials: "That email and password don't match an account.",
  user_already_exists: "An account with this email already exists. Sign in instead.",
  email_exists: "An account with this email already exists. Sign in instead.",
  weak_password: "Choose a stronger password: at least 6 characters.",
  validation_failed: "Check the email address and password.",
  over_request_rate_limit: "Too many attempts. Wait a moment and try again.",
  anonymous_provider_disabled: "Starting without an account is turned off for this project.",
});

/** An error whose message is already written for the learner. */
export class LearnerMessage extends Error {}

/**
 * @param {unknown} error
 * @returns {Described}
 */
export function describeError(error) {
  if (error instanceof LearnerMessage) {
    return { message: error.message, fields: [] };
  }
  if (error instanceof OrchestratorError) return describeApiError(error);
  if (error instanceof Error && error.name.startsWith("Auth")) {
    const code = /** @type {{ code?: unknown }} */ (error).code;
    if (typeof code === "string" && AUTH_MESSAGES[code]) {
      return { message: AUTH_MESSAGES[code], fields: [] };
    }
    if (error.name === "AuthRetryableFetchError") {
      return {
        message: "Could not reach the sign-in service. Try again.",
        fields: [],
      };
    }
    return { message: sentence(error.message), fields: [] };
  }
  return { message: "Something went wrong. Please try again.", fields: [] };
}
