/**
 * Input checks GoTrue applies to e-mail addresses and phone numbers (internal/api/mail.go
 * validateEmail with badoux/checkmail's format, internal/api/phone.go validatePhone).
 */
import { badRequest } from "./errors.ts";

// badoux/checkmail's emailRegexp: a local part, `@`, DNS labels.
const EMAIL = new RegExp(
  "^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?" +
    "(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$",
);
const E164 = /^[1-9][0-9]{1,14}$/;

/** The address, lower-cased, or 400 `validation_failed`. */
export function validateEmail(email: string): string {
  if (email === "") throw badRequest("validation_failed", "An email address is required");
  if (email.length > 255) throw badRequest("validation_failed", "An email address is too long");
  if (!EMAIL.test(email)) {
    throw badRequest("validation_failed", "Unable to validate email address: invalid format");
  }
  return email.toLowerCase();
}

/** Digits only (`+` and spaces dropped) in E.164 form, or 400 `validation_failed`. */
export function validatePhone(phone: string): string {
  const formatted = phone.replace(/^\+/, "").replaceAll(" ", "");
  if (!E164.test(formatted)) {
    throw badRequest("validation_failed", "Invalid phone number format (E.164 required)");
  }
  return formatted;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const NIL_UUID = "00000000-0000-0000-0000-000000000000";

/** Go's uuid.FromString for the canonical form, lower-cased; null when it is not one. */
export function parseUuid(value: string): string | null {
  return UUID.test(value) ? value.toLowerCase() : null;
}
