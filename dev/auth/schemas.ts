/**
 * The request bodies Auth accepts, as GoTrue's Go structs declare them (field names, Go types);
 * fields GoTrue has but the local Auth never reads are left out and so ignored, as unknown
 * fields are. Decoded with dev/auth/body.ts.
 */
import { z } from "zod";
import { goBool, goMap, goString, goStringPointer, type GoStruct } from "./body.ts";

const MAP = "map[string]interface {}";

function struct<F extends Record<string, z.ZodType>>(
  name: string,
  goTypes: Record<keyof F & string, string>,
  fields: F,
): GoStruct<z.ZodObject<F>> {
  return { name, goTypes, schema: z.object(fields) };
}

/** POST /signup (internal/api/signup.go SignupParams). */
export const SignupParams = struct("SignupParams", {
  email: "string",
  phone: "string",
  password: "string",
  data: MAP,
  channel: "string",
  code_challenge_method: "string",
  code_challenge: "string",
}, {
  email: goString(),
  phone: goString(),
  password: goString(),
  data: goMap(),
  channel: goString(),
  code_challenge_method: goString(),
  code_challenge: goString(),
});

/** POST /token?grant_type=password (internal/api/token.go PasswordGrantParams). */
export const PasswordGrantParams = struct("PasswordGrantParams", {
  email: "string",
  phone: "string",
  password: "string",
}, { email: goString(), phone: goString(), password: goString() });

/** POST /token?grant_type=refresh_token. */
export const RefreshTokenGrantParams = struct("RefreshTokenGrantParams", {
  refresh_token: "string",
}, { refresh_token: goString() });

/** POST /token?grant_type=pkce. */
export const PKCEGrantParams = struct("PKCEGrantParams", {
  auth_code: "string",
  code_verifier: "string",
}, { auth_code: goString(), code_verifier: goString() });

/** PUT /user (internal/api/user.go UserUpdateParams). */
export const UserUpdateParams = struct("UserUpdateParams", {
  email: "string",
  password: "*string",
  current_password: "*string",
  nonce: "string",
  data: MAP,
  app_metadata: MAP,
  phone: "string",
  channel: "string",
  code_challenge: "string",
  code_challenge_method: "string",
}, {
  email: goString(),
  password: goStringPointer(),
  current_password: goStringPointer(),
  nonce: goString(),
  data: goMap(),
  app_metadata: goMap(),
  phone: goString(),
  channel: goString(),
  code_challenge: goString(),
  code_challenge_method: goString(),
});

/** POST /admin/users and PUT /admin/users/{id} (internal/api/admin.go AdminUserParams). */
export const AdminUserParams = struct("AdminUserParams", {
  id: "string",
  aud: "string",
  role: "string",
  email: "string",
  phone: "string",
  password: "*string",
  password_hash: "string",
  email_confirm: "bool",
  phone_confirm: "bool",
  user_metadata: MAP,
  app_metadata: MAP,
  ban_duration: "string",
}, {
  id: goString(),
  aud: goString(),
  role: goString(),
  email: goString(),
  phone: goString(),
  password: goStringPointer(),
  password_hash: goString(),
  email_confirm: goBool(),
  phone_confirm: goBool(),
  user_metadata: goMap(),
  app_metadata: goMap(),
  ban_duration: goString(),
});

/** DELETE /admin/users/{id}. */
export const AdminUserDeleteParams = struct("adminUserDeleteParams", {
  should_soft_delete: "bool",
}, { should_soft_delete: goBool() });

export type AdminUserInput = z.infer<typeof AdminUserParams.schema>;
export type UserUpdateInput = z.infer<typeof UserUpdateParams.schema>;
export type SignupInput = z.infer<typeof SignupParams.schema>;
