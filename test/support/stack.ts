/**
 * A whole local stack per test, on a free port: embedded PGlite always, and a fresh migrated
 * database in the `TEST_DATABASE_URL` cluster when one is configured. `stop()` releases the
 * server, the pool, PGlite, and drops the test database.
 */
import { type Stack, startStack } from "../../dev/stack.ts";
import { mintAnonJwt, mintServiceJwt, mintUserJwt } from "../../dev/jwt.ts";
import { createUser, freshDatabase } from "./db.ts";

export type Backend = "pglite" | "postgres";

export interface TestStackOptions {
  /** Let the reference agents honour fault-injection headers. Default: false. */
  agentFaults?: boolean;
  /**
   * Configuration variables for the stack (`StackOptions.env`), e.g. a new-key project's
   * (`JWT_SECRET: ""`, `SUPABASE_SECRET_KEYS`). Default: none.
   */
  env?: Record<string, string>;
}

export interface TestStack extends Stack {
  /**
   * An access token for `userId`, signed with the stack's JWT secret (these three helpers
   * reject when the stack has none).
   */
  userToken(userId: string): Promise<string>;
  serviceToken(): Promise<string>;
  anonToken(): Promise<string>;
  /** Inserts a new `auth.users` row and returns its id. */
  createUser(): Promise<string>;
}

/** The backends e2e tests run on: PGlite always, Postgres when `TEST_DATABASE_URL` is set. */
export function testBackends(): Backend[] {
  return Deno.env.get("TEST_DATABASE_URL") ? ["pglite", "postgres"] : ["pglite"];
}

async function startOn(backend: Backend, options: TestStackOptions) {
  const { agentFaults = false, env } = options;
  if (backend === "pglite") {
    return {
      stack: await startStack({ databaseUrl: null, port: 0, agentFaults, env }),
      drop: null,
    };
  }
  if (!Deno.env.get("TEST_DATABASE_URL")) {
    throw new Error("The postgres backend needs TEST_DATABASE_URL; see testBackends().");
  }
  // freshDatabase migrates the new database; its own pool is only kept to drop it afterwards.
  const db = await freshDatabase({ max: 1 });
  try {
    const stack = await startStack({
      databaseUrl: db.url,
      port: 0,
      migrate: false,
      agentFaults,
      env,
    });
    return { stack, drop: () => db.close() };
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
}

/** Starts a stack on `backend`, with token helpers bound to its configuration. */
export async function startTestStack(
  backend: Backend,
  options: TestStackOptions = {},
): Promise<TestStack> {
  const { stack, drop } = await startOn(backend, options);
  const configured = stack.config.jwtSecret;
  const secret = () =>
    configured ??
      Promise.reject(new Error("The stack has no JWT_SECRET; HS256 tokens cannot be minted."));
  let stopping: Promise<void> | null = null;
  return {
    ...stack,
    userToken: async (userId) =>
      mintUserJwt({
        secret: await secret(),
        userId,
        email: `${userId}@example.test`,
        issuer: `${stack.config.supabaseUrl ?? stack.url}/auth/v1`,
      }),
    serviceToken: async () => mintServiceJwt(await secret()),
    anonToken: async () => mintAnonJwt(await secret()),
    createUser: () => createUser(stack.sql),
    stop: () =>
      stopping ??= (async () => {
        try {
          await stack.stop();
        } finally {
          await drop?.();
        }
      })(),
  };
}
