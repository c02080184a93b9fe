/**
 * The admin users API (internal/api/admin.go), for a secret key or the service_role JWT:
 * GET /admin/users?page=&per_page= (newest first, `X-Total-Count` and `Link` headers as
 * auth-js reads them), POST /admin/users, and GET/PUT/DELETE /admin/users/{id}. Deleting a
 * user deletes its sessions, identities and every row that references it with ON DELETE
 * CASCADE (the wisely tables).
 */
import { insertAdminUser, newAdminUser } from "../admin_create.ts";
import { decodeStruct, readBody, readStruct } from "../body.ts";
import { AUDIENCE, type AuthContext } from "../context.ts";
import { AuthError, badRequest, notFound, unprocessable } from "../errors.ts";
import { sendJson } from "../http.ts";
import { identitiesOf } from "../identities.ts";
import { isUniqueViolation } from "../pg_errors.ts";
import { requireAdmin } from "../principal.ts";
import { AdminUserDeleteParams, AdminUserParams } from "../schemas.ts";
import { findUserById, serializeUser, userResponseBody, type UserRow } from "../users.ts";
import { parseUuid } from "../validate.ts";
import { updateUserAsAdmin } from "../admin_update.ts";

const DEFAULT_PER_PAGE = 50;
/** Bounds that keep OFFSET inside bigint (Go's ints would overflow long before). */
const MAX_PAGE_NUMBER = 2 ** 31 - 1;

function pageParameter(url: URL, name: string, fallback: number): number {
  const raw = url.searchParams.get(name) ?? "";
  if (raw === "") return fallback;
  if (!/^[0-9]+$/.test(raw)) {
    throw badRequest(
      "validation_failed",
      `Bad Pagination Parameters: strconv.ParseUint: parsing ${
        JSON.stringify(raw)
      }: invalid syntax`,
    );
  }
  return Math.min(Number(raw), MAX_PAGE_NUMBER);
}

/** GoTrue's addPaginationHeaders: `next` while pages remain, always `last`. */
function paginationHeaders(url: URL, page: number, perPage: number, total: number): Headers {
  const totalPages = Math.ceil(total / perPage);
  const link = (target: number) => {
    const query = new URLSearchParams(url.searchParams);
    query.set("page", String(target));
    query.sort(); // Go's url.Values.Encode sorts by key
    // The path as GoTrue sees it behind the gateway, which strips `/auth/v1`.
    return `</admin/users?${query}>`;
  };
  let header = "";
  if (totalPages > page) header += `${link(page + 1)}; rel="next", `;
  header += `${link(totalPages)}; rel="last"`;
  return new Headers({ link: header, "x-total-count": String(total) });
}

export async function listUsers(req: Request, ctx: AuthContext): Promise<Response> {
  await requireAdmin(req, ctx);
  const url = new URL(req.url);
  // pop's Paginate: a page below 1 is the first, a size below 1 is 20.
  const page = Math.max(pageParameter(url, "page", 1), 1);
  const perPageRaw = pageParameter(url, "per_page", DEFAULT_PER_PAGE);
  const perPage = perPageRaw < 1 ? 20 : perPageRaw;
  const aud = req.headers.get("x-jwt-aud") || AUDIENCE;
  const [{ total }] = await ctx.sql<{ total: number }[]>`
    select count(*)::int as total from auth.users where aud = ${aud}
  `;
  const users = await ctx.sql<UserRow[]>`
    select * from auth.users where aud = ${aud}
    order by created_at desc, id
    limit ${perPage} offset ${(page - 1) * perPage}
  `;
  const identities = await identitiesOf(ctx.sql, users.map((user) => user.id));
  const body = {
    users: users.map((user) =>
      serializeUser(user, identities.filter((identity) => identity.user_id === user.id))
    ),
    aud,
  };
  return sendJson(body, 200, paginationHeaders(url, page, perPage, total));
}

export async function createUser(req: Request, ctx: AuthContext): Promise<Response> {
  await requireAdmin(req, ctx);
  const params = await readStruct(req, ctx.maxBodyBytes, AdminUserParams);
  const user = await newAdminUser(ctx.sql, params, new Date());
  try {
    await ctx.sql.begin((tx) => insertAdminUser(tx, user));
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    // The id, e-mail or phone was taken: by the id given, or meanwhile.
    throw unprocessable("user_already_exists", "User already registered");
  }
  return sendJson(await userResponseBody(ctx.sql, user.id));
}

/** GoTrue's loadUser: the `{user_id}` of the path, which must name a user. */
async function loadUser(ctx: AuthContext, rawId: string): Promise<UserRow> {
  const id = parseUuid(rawId);
  if (id === null) throw notFound("validation_failed", "user_id must be an UUID");
  const user = await findUserById(ctx.sql, id);
  if (user === null) throw notFound("user_not_found", "User not found");
  return user;
}

export async function getUserById(req: Request, ctx: AuthContext, id: string) {
  await requireAdmin(req, ctx);
  const user = await loadUser(ctx, id);
  return sendJson(serializeUser(user, await identitiesOf(ctx.sql, [user.id])));
}

export async function updateUserById(req: Request, ctx: AuthContext, id: string) {
  await requireAdmin(req, ctx);
  const user = await loadUser(ctx, id);
  const params = await readStruct(req, ctx.maxBodyBytes, AdminUserParams);
  await updateUserAsAdmin(ctx, user, params);
  const body = await userResponseBody(ctx.sql, user.id);
  if (!body) throw new AuthError(404, "user_not_found", "User not found");
  return sendJson(body);
}

export async function deleteUserById(req: Request, ctx: AuthContext, id: string) {
  await requireAdmin(req, ctx);
  const user = await loadUser(ctx, id);
  const bytes = await readBody(req, ctx.maxBodyBytes);
  // The body is optional: only a non-empty one is decoded.
  const soft = bytes.byteLength > 0 &&
    decodeStruct(bytes, AdminUserDeleteParams).should_soft_delete;
  if (!soft) {
    await ctx.sql`delete from auth.users where id = ${user.id}`;
  } else if (user.deleted_at === null) {
    await ctx.sql.begin(async (tx) => {
      // GoTrue obfuscates the e-mail and phone; dropping them frees them the same way.
      await tx`
        update auth.users
        set email = null, phone = null, encrypted_password = null, email_change = '',
          phone_change = '', raw_user_meta_data = '{}'::jsonb, deleted_at = now()
        where id = ${user.id}
      `;
      await tx`delete from auth.identities where user_id = ${user.id}`;
      await tx`delete from auth.sessions where user_id = ${user.id}`;
    });
  }
  return sendJson({});
}
