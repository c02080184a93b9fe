/**
 * A minimal client of a running stack's Auth admin API (GET and POST /auth/v1/admin/users),
 * for `deno task token`: looks a user up by id and creates them when missing.
 */
import { z } from "zod";

const AdminUser = z.object({ id: z.string(), email: z.string().optional() });
const AuthErrorBody = z.object({
  code: z.union([z.string(), z.number()]).optional(),
  error_code: z.string().optional(),
  msg: z.string().optional(),
  message: z.string().optional(),
});

/** The stack could not be reached, or its Auth refused the admin request. */
export class AdminApiError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "AdminApiError";
  }
}

export interface EnsuredUser {
  id: string;
  email: string;
  created: boolean;
}

export interface AdminClientOptions {
  /** The stack's base URL, e.g. `http://127.0.0.1:54321`. */
  url: string;
  /** A secret key (`sb_secret_…`) or the service_role JWT. */
  secretKey: string;
  /** Per request. @default 5000 */
  timeoutMs?: number;
}

async function call(options: AdminClientOptions, path: string, init: RequestInit = {}) {
  const url = `${options.url.replace(/\/+$/, "")}/auth/v1${path}`;
  try {
    return await fetch(url, {
      ...init,
      headers: {
        apikey: options.secretKey,
        authorization: `Bearer ${options.secretKey}`,
        "content-type": "application/json",
      },
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
  } catch (cause) {
    throw new AdminApiError(`Cannot reach the local stack's Auth at ${url}.`, { cause });
  }
}

async function failure(response: Response, what: string): Promise<AdminApiError> {
  const parsed = AuthErrorBody.safeParse(await response.json().catch(() => null));
  const detail = parsed.success
    ? parsed.data.msg ?? parsed.data.message ?? ""
    : response.statusText;
  return new AdminApiError(`${what} failed: ${response.status} ${detail}`.trim());
}

/** The user with `id`, created (confirmed, e-mail `<id>@wisely.local`) when missing. */
export async function ensureUser(options: AdminClientOptions, id: string): Promise<EnsuredUser> {
  const found = await call(options, `/admin/users/${id}`);
  if (found.ok) {
    const user = AdminUser.parse(await found.json());
    return { id: user.id, email: user.email ?? "", created: false };
  }
  if (found.status !== 404) throw await failure(found, "Looking the user up");
  await found.body?.cancel();
  const email = `${id}@wisely.local`;
  const created = await call(options, "/admin/users", {
    method: "POST",
    body: JSON.stringify({ id, email, email_confirm: true }),
  });
  if (!created.ok) throw await failure(created, "Creating the user");
  const user = AdminUser.parse(await created.json());
  return { id: user.id, email: user.email ?? email, created: true };
}
