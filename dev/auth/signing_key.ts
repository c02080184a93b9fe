/**
 * The local Auth's signing key: one ES256 key pair, made on a new database and kept in
 * `local_auth.signing_keys` (dev/bootstrap.sql) with the data, so tokens stay valid across
 * restarts of a persistent database. Its public half is the JWKS. The table lives in a schema
 * of its own because a hosted project keeps its signing keys outside the database.
 */
import { exportJWK, generateKeyPair, importJWK } from "jose";
import type postgres from "postgres";
import { z } from "zod";
import { jsonb } from "../../supabase/functions/_shared/db.ts";
import type { JsonWebKeyWithKid } from "../../supabase/functions/_shared/config.ts";

export interface SigningKey {
  /** The `kid` every access token names. */
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** As published at `/.well-known/jwks.json`. */
  publicJwk: JsonWebKeyWithKid;
}

const PrivateEcJwk = z.object({
  kty: z.literal("EC"),
  crv: z.literal("P-256"),
  x: z.string().min(1),
  y: z.string().min(1),
  d: z.string().min(1),
});
const KeyRow = z.object({ kid: z.string().min(1), private_jwk: PrivateEcJwk });

/** Arbitrary constant for pg_advisory_xact_lock: two stacks starting on one new database. */
const KEY_LOCK = 7_311_020_261;

async function importKey(row: z.infer<typeof KeyRow>): Promise<SigningKey> {
  const { kty, crv, x, y, d } = row.private_jwk;
  const privateKey = await importJWK({ kty, crv, x, y, d }, "ES256");
  const publicKey = await importJWK({ kty, crv, x, y }, "ES256");
  if (!(privateKey instanceof CryptoKey) || !(publicKey instanceof CryptoKey)) {
    throw new Error("The stored signing key is not an EC key.");
  }
  return {
    kid: row.kid,
    privateKey,
    publicKey,
    // The fields Supabase Auth's JWKS lists for an ES256 key.
    publicJwk: {
      kty,
      crv,
      x,
      y,
      kid: row.kid,
      alg: "ES256",
      use: "sig",
      key_ops: ["verify"],
      ext: true,
    },
  };
}

async function newKeyRow(): Promise<z.infer<typeof KeyRow>> {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = PrivateEcJwk.parse(await exportJWK(privateKey));
  return { kid: crypto.randomUUID(), private_jwk: jwk };
}

/** The stored key, or a new one stored first. */
export async function loadSigningKey(sql: postgres.Sql): Promise<SigningKey> {
  const fresh = await newKeyRow();
  let stored: unknown;
  try {
    stored = await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${KEY_LOCK})`;
      const [existing] = await tx`
        select kid, private_jwk from local_auth.signing_keys order by created_at, kid limit 1
      `;
      if (existing) return existing;
      const [inserted] = await tx`
        insert into local_auth.signing_keys (kid, algorithm, private_jwk)
        values (${fresh.kid}, 'ES256', ${jsonb(tx, fresh.private_jwk)})
        returning kid, private_jwk
      `;
      return inserted;
    });
  } catch (cause) {
    throw new Error(
      "Cannot load the local Auth signing key from local_auth.signing_keys " +
        "(is the database bootstrapped? see dev/bootstrap.sql).",
      { cause },
    );
  }
  return await importKey(KeyRow.parse(stored));
}
