/** Recognising the Postgres errors Auth turns into 4xx answers. */

function sqlState(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("code" in error)) return undefined;
  return typeof error.code === "string" ? error.code : undefined;
}

/** 23505: a unique index refused the row (an e-mail, phone or id taken meanwhile). */
export function isUniqueViolation(error: unknown): boolean {
  return sqlState(error) === "23505";
}
