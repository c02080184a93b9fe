/**
 * The Supabase CLI's well-known local API keys (spec 4), and how the local stack's Auth and
 * Realtime classify an `apikey`. They are public knowledge: only ever local defaults.
 *
 * - `sb_publishable_…` and the legacy anon JWT: the anon role (a browser's key).
 * - `sb_secret_…` and the legacy service_role JWT: the service principal (bypasses RLS).
 */

import { LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY } from "../supabase/functions/_shared/config.ts";
import { matchesAnyKey, timingSafeEqual } from "../supabase/functions/_shared/timing_safe_equal.ts";

// The CLI's local publishable and secret keys are the functions' local defaults too
// (`_shared/config.ts`); the constant-time comparison is the functions' own.
export { LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY, timingSafeEqual };
/** The CLI's legacy anon key: HS256 with the local JWT secret, `iss: supabase-demo`. */
export const LOCAL_ANON_KEY =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9.CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0";
/** The CLI's legacy service_role key: HS256 with the local JWT secret. */
export const LOCAL_SERVICE_ROLE_KEY =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6MTk4MzgxMjk5Nn0.EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU";

/** What an API key grants: the anon role or the service principal. */
export type ApiKeyRole = "anon" | "service_role";

export interface ApiKeySet {
  publishable: readonly string[];
  secret: readonly string[];
  /** Legacy JWT keys, accepted as they are (exact strings, as the CLI's gateway does). */
  legacyAnon: readonly string[];
  legacyServiceRole: readonly string[];
}

/** The keys `supabase start` prints, which the local stack accepts by default. */
export const LOCAL_API_KEYS: ApiKeySet = {
  publishable: [LOCAL_PUBLISHABLE_KEY],
  secret: [LOCAL_SECRET_KEY],
  legacyAnon: [LOCAL_ANON_KEY],
  legacyServiceRole: [LOCAL_SERVICE_ROLE_KEY],
};

/** The role an `apikey` grants, or null when it is none of the configured keys. */
export function classifyApiKey(key: string, keys: ApiKeySet = LOCAL_API_KEYS): ApiKeyRole | null {
  if (matchesAnyKey(key, keys.secret) || matchesAnyKey(key, keys.legacyServiceRole)) {
    return "service_role";
  }
  if (matchesAnyKey(key, keys.publishable) || matchesAnyKey(key, keys.legacyAnon)) return "anon";
  return null;
}
