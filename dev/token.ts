/**
 * `deno task token [--service | --anon] [USER_UUID]`: prints one local JWT on stdout and nothing
 * else, so `TOKEN=$(deno task -q token)` works. Signed with `JWT_SECRET`, else the Supabase
 * CLI's local default; user tokens name `${SUPABASE_URL}/auth/v1` as issuer, as Supabase Auth
 * does.
 *
 * A user who does not exist yet is created first through the running stack's Auth admin API
 * (`SUPABASE_URL`, default http://127.0.0.1:54321, with the local secret key or
 * `SUPABASE_SECRET_KEY`), so every token it prints works; it says so on stderr. The demo user
 * needs no stack (`deno task start` seeds it). Usage errors exit 2; an unreachable stack or a
 * refused creation exits 1, with the reason on stderr.
 */
import { LOCAL_JWT_SECRET, LOCAL_SUPABASE_URL } from "../supabase/functions/_shared/config.ts";
import { AdminApiError, ensureUser } from "./auth/admin_client.ts";
import { DEMO_USER_EMAIL, DEMO_USER_ID, mintAnonJwt, mintServiceJwt, mintUserJwt } from "./jwt.ts";
import { LOCAL_SECRET_KEY } from "./keys.ts";

const USAGE = `Usage: deno task token [--service | --anon] [USER_UUID]

Prints a JWT signed with JWT_SECRET (default: the Supabase CLI's local secret).
  (no flag)   an authenticated user's access token, for USER_UUID
              (default: the demo user ${DEMO_USER_ID}); a user who does
              not exist yet is created first in the running stack (SUPABASE_URL)
  --service   a service_role token
  --anon      an anon token`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class UsageError extends Error {}

type TokenRequest = { kind: "user"; userId: string } | { kind: "service" } | { kind: "anon" } | {
  kind: "help";
};

function parseArgs(args: string[]): TokenRequest {
  let kind: "user" | "service" | "anon" = "user";
  let userId: string | undefined;
  for (const arg of args) {
    if (arg === "--help" || arg === "-h") return { kind: "help" };
    if (arg === "--service" || arg === "--anon") {
      const wanted = arg === "--service" ? "service" : "anon";
      if (kind !== "user" && kind !== wanted) {
        throw new UsageError("--service and --anon cannot be combined.");
      }
      kind = wanted;
    } else if (arg.startsWith("-")) {
      throw new UsageError(`Unknown option ${arg}.`);
    } else if (userId !== undefined) {
      throw new UsageError("Give at most one USER_UUID.");
    } else if (!UUID.test(arg)) {
      throw new UsageError(`"${arg}" is not a UUID (expected e.g. ${DEMO_USER_ID}).`);
    } else {
      userId = arg.toLowerCase();
    }
  }
  if (kind !== "user") {
    if (userId !== undefined) throw new UsageError(`--${kind} tokens carry no user id.`);
    return { kind };
  }
  return { kind, userId: userId ?? DEMO_USER_ID };
}

function readSecret(): Uint8Array {
  const text = Deno.env.get("JWT_SECRET") ?? LOCAL_JWT_SECRET;
  if (text.length < 32) throw new UsageError("JWT_SECRET must be at least 32 characters long.");
  return new TextEncoder().encode(text);
}

function supabaseUrl(): string {
  return Deno.env.get("SUPABASE_URL")?.trim().replace(/\/+$/, "") || LOCAL_SUPABASE_URL;
}

/** The user's e-mail, the user created first when the stack's Auth does not know them. */
async function userEmail(userId: string): Promise<string> {
  if (userId === DEMO_USER_ID) return DEMO_USER_EMAIL;
  const url = supabaseUrl();
  const secretKey = Deno.env.get("SUPABASE_SECRET_KEY")?.trim() || LOCAL_SECRET_KEY;
  const user = await ensureUser({ url, secretKey }, userId);
  if (user.created) console.error(`token: created user ${user.id} (${user.email}) at ${url}.`);
  return user.email;
}

async function main(args: string[]): Promise<number> {
  let request: TokenRequest;
  let secret: Uint8Array;
  try {
    request = parseArgs(args);
    if (request.kind === "help") {
      console.log(USAGE);
      return 0;
    }
    secret = readSecret();
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`token: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (request.kind !== "user") {
    console.log(
      request.kind === "service" ? await mintServiceJwt(secret) : await mintAnonJwt(secret),
    );
    return 0;
  }
  let email: string;
  try {
    email = await userEmail(request.userId);
  } catch (error) {
    if (!(error instanceof AdminApiError)) throw error;
    console.error(
      `token: ${error.message}\nUser ${request.userId} must exist for its token to work: start ` +
        "the stack (deno task start) or point SUPABASE_URL at it.",
    );
    return 1;
  }
  const issuer = `${supabaseUrl()}/auth/v1`;
  console.log(await mintUserJwt({ secret, userId: request.userId, email, issuer }));
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
