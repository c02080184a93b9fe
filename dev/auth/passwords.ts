/**
 * Passwords as Supabase Auth keeps them: bcrypt, `$2a$` at cost 10 (Go's
 * golang.org/x/crypto/bcrypt default), checked for strength first (internal/api/password.go:
 * at least 6 characters, at most 72 bytes, bcrypt's limit).
 */
import bcrypt from "bcryptjs";
import { badRequest, WeakPasswordError } from "./errors.ts";

/** supabase/config.toml `[auth] minimum_password_length`, the CLI's default. */
export const MIN_PASSWORD_LENGTH = 6;
const MAX_PASSWORD_BYTES = 72;
const BCRYPT_COST = 10;

const encoder = new TextEncoder();

/** Go's len(): bytes, not characters. */
function byteLength(text: string): number {
  return encoder.encode(text).byteLength;
}

/** Throws 400 for an over-long password and 422 `weak_password` for a short one. */
export function checkPasswordStrength(password: string): void {
  if (byteLength(password) > MAX_PASSWORD_BYTES) {
    throw badRequest(
      "validation_failed",
      `Password cannot be longer than ${MAX_PASSWORD_BYTES} characters`,
    );
  }
  if (byteLength(password) < MIN_PASSWORD_LENGTH) {
    throw new WeakPasswordError(
      `Password should be at least ${MIN_PASSWORD_LENGTH} characters.`,
      ["length"],
    );
  }
}

/** The strength problem of a password that signed in, for the response's `weak_password`. */
export function weakPasswordNotice(
  password: string,
): { message: string; reasons: string[] } | null {
  try {
    checkPasswordStrength(password);
    return null;
  } catch (error) {
    if (error instanceof WeakPasswordError) {
      return { message: error.message, reasons: error.reasons };
    }
    return null;
  }
}

/** A `$2a$10$…` hash, as Go's bcrypt writes it (bcryptjs writes `$2b$`; same digest ≤ 72 B). */
export async function hashPassword(password: string): Promise<string> {
  const salt = (await bcrypt.genSalt(BCRYPT_COST)).replace(/^\$2b\$/, "$2a$");
  return await bcrypt.hash(password, salt);
}

/** True when `password` matches `hash`; false for no hash or a password bcrypt would cut. */
export async function verifyPassword(password: string, hash: string | null): Promise<boolean> {
  if (!hash || !hash.startsWith("$2") || byteLength(password) > MAX_PASSWORD_BYTES) return false;
  try {
    return await bcrypt.compare(password, hash);
  } catch {
    return false; // a malformed stored hash matches nothing
  }
}
