/**
 * A Postgres connection string, parsed into the options postgres.js takes (spec 3): host, port,
 * database, user and a password of any characters (percent-encoded in the URL, as RFC 3986
 * userinfo must be), and TLS chosen by host. The parts are passed to postgres.js one by one
 * rather than as a URL, so what connects is exactly what this module parsed and tested.
 *
 * TLS: `sslmode` in the URL wins (`disable`, `allow`, `prefer`, `require`, `verify-full`); else
 * a local host (127.0.0.0/8, `localhost`, `::1`) connects in plain text and any other host with
 * `require`: encrypted, as Supabase's pooler and direct connections accept, without verifying
 * the certificate, which Supabase signs with its own CA (not in the system store).
 * `?sslmode=verify-full` verifies against the system CAs instead.
 */

/** What postgres.js's `ssl` option accepts, as chosen here. */
export type SslMode = false | "allow" | "prefer" | "require" | "verify-full";

export interface DatabaseTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  /** Decoded: any characters, `@:/?#%` and spaces included. */
  password: string;
  ssl: SslMode;
  /** Other query parameters, sent as startup parameters (as postgres.js does with a URL). */
  parameters: Record<string, string>;
}

const SSL_MODES: Record<string, SslMode> = {
  disable: false,
  allow: "allow",
  prefer: "prefer",
  require: "require",
  "verify-full": "verify-full",
};

/** True for loopback hosts, where plain text never leaves the machine. */
export function isLocalHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch (cause) {
    throw new Error(
      `its ${what} is not valid percent-encoding (encode it with encodeURIComponent)`,
      {
        cause,
      },
    );
  }
}

/**
 * Parses `postgres://user:password@host:port/database?sslmode=…`. Throws an `Error` whose
 * message completes "the URL …" (the caller names the variable); never echoes the password.
 */
export function parseDatabaseUrl(raw: string): DatabaseTarget {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch (cause) {
    throw new Error("is not an absolute URL", { cause });
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new Error("must start with postgres:// or postgresql://");
  }
  if (!url.hostname) throw new Error("has no host");
  const port = url.port ? Number(url.port) : 5432;
  const parameters: Record<string, string> = {};
  for (const [name, value] of url.searchParams) parameters[name] = value;
  const sslmode = parameters.sslmode;
  delete parameters.sslmode;
  let ssl: SslMode;
  if (sslmode === undefined) ssl = isLocalHost(url.hostname) ? false : "require";
  else if (sslmode in SSL_MODES) ssl = SSL_MODES[sslmode];
  else throw new Error(`has an sslmode postgres.js does not support: ${sslmode.slice(0, 20)}`);
  const user = decode(url.username, "user name") || "postgres";
  return {
    host: url.hostname.replace(/^\[|\]$/g, ""),
    port,
    database: decode(url.pathname.replace(/^\//, ""), "database name") || user,
    user,
    password: decode(url.password, "password"),
    ssl,
    parameters,
  };
}
