/**
 * The local Auth's small parsers and rules: Go durations (`ban_duration`), e-mail and phone
 * checks, password strength and bcrypt hashes, refresh token format, the /auth/v1 subpath.
 */
import assert from "node:assert/strict";
import bcrypt from "bcryptjs";
import { parseGoDuration } from "../../dev/auth/duration.ts";
import { AuthError, WeakPasswordError } from "../../dev/auth/errors.ts";
import {
  checkPasswordStrength,
  hashPassword,
  verifyPassword,
  weakPasswordNotice,
} from "../../dev/auth/passwords.ts";
import { authSubpath } from "../../dev/auth/router.ts";
import { newRefreshToken } from "../../dev/auth/sessions.ts";
import { parseUuid, validateEmail, validatePhone } from "../../dev/auth/validate.ts";

Deno.test("auth: Go durations, as time.ParseDuration reads them", () => {
  assert.equal(parseGoDuration("24h"), 86_400_000);
  assert.equal(parseGoDuration("1h30m"), 5_400_000);
  assert.equal(parseGoDuration("1.5h"), 5_400_000);
  assert.equal(parseGoDuration("-2m"), -120_000);
  assert.equal(parseGoDuration("300ms"), 300);
  assert.equal(parseGoDuration("0"), 0);
  assert.equal(parseGoDuration("876000h"), 876_000 * 3_600_000);
  for (const bad of ["", "h", "5", "10d", "1h 30m", "forever", "9999999h"]) {
    assert.equal(parseGoDuration(bad), null, bad);
  }
});

Deno.test("auth: e-mail and phone checks", () => {
  assert.equal(validateEmail("Ada@Example.COM"), "ada@example.com");
  for (const bad of ["", "ada", "ada@", "@example.com", "a b@example.com", "a@-x.com"]) {
    assert.throws(() => validateEmail(bad), (error) => {
      assert.ok(error instanceof AuthError);
      assert.equal(error.status, 400);
      assert.equal(error.errorCode, "validation_failed");
      return true;
    }, bad);
  }
  assert.throws(() => validateEmail(`${"a".repeat(250)}@x.com`), /too long/);
  assert.equal(validatePhone("+49 151 234567"), "49151234567");
  assert.throws(() => validatePhone("0151"), /E\.164/);
  assert.equal(
    parseUuid("3F2504E0-4F89-41D3-9A0C-0305E82C3301"),
    "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
  );
  assert.equal(parseUuid("3f2504e0"), null);
});

Deno.test("auth: password strength counts bytes, as Go's len does", () => {
  assert.throws(() => checkPasswordStrength("12345"), WeakPasswordError);
  checkPasswordStrength("123456");
  checkPasswordStrength("ééé"); // six bytes
  assert.throws(() => checkPasswordStrength("x".repeat(73)), /longer than 72/);
  assert.deepEqual(weakPasswordNotice("abc"), {
    message: "Password should be at least 6 characters.",
    reasons: ["length"],
  });
  assert.equal(weakPasswordNotice("long enough"), null);
});

Deno.test("auth: bcrypt hashes as Supabase Auth writes them, and verification", async () => {
  const hash = await hashPassword("correct horse");
  assert.match(hash, /^\$2a\$10\$[./A-Za-z0-9]{53}$/);
  assert.equal(bcrypt.getRounds(hash), 10);
  assert.equal(await verifyPassword("correct horse", hash), true);
  assert.equal(await verifyPassword("wrong horse", hash), false);
  assert.equal(await verifyPassword("correct horse", null), false);
  assert.equal(await verifyPassword("correct horse", ""), false);
  assert.equal(await verifyPassword("correct horse", "$2a$10$broken"), false);
  assert.equal(await verifyPassword("x".repeat(80), hash), false, "over 72 bytes never matches");
});

Deno.test("auth: refresh tokens are GoTrue's 12-character lower-case base32", () => {
  const tokens = new Set(Array.from({ length: 200 }, newRefreshToken));
  assert.equal(tokens.size, 200);
  for (const token of tokens) assert.match(token, /^[a-z2-7]{12}$/);
});

Deno.test("auth: the subpath under /auth/v1", () => {
  assert.equal(authSubpath("/auth/v1/signup"), "/signup");
  assert.equal(authSubpath("/auth/v1/signup/"), "/signup");
  assert.equal(authSubpath("/auth/v1"), "/");
  assert.equal(authSubpath("/auth/v1/"), "/");
  assert.equal(authSubpath("/auth/v1/admin/users/x"), "/admin/users/x");
});
