/**
 * Where a webhook may be sent (spec 12): an https URL whose host is, or resolves only to,
 * public addresses (ip_ranges.ts), so an endpoint cannot aim the service at its own network.
 * Checked when an endpoint is created and again before every attempt, because a name may
 * resolve elsewhere later (DNS rebinding). The local stack also allows http and loopback
 * hosts, so tests and developers can run receivers on 127.0.0.1.
 *
 * What remains: the attempt's own lookup happens after this one (fetch cannot be pinned to an
 * address), so a resolver answering differently within that moment is not caught; redirects,
 * the other way around the check, are never followed (attempt.ts).
 */
import { classifyAddress } from "./ip_ranges.ts";

/** The A or AAAA records of a name; [] when it has none. */
export type Resolver = (host: string, type: "A" | "AAAA") => Promise<string[]>;

export interface UrlRuleOptions {
  /** Inside the local stack (`config.local`): http and loopback hosts allowed. */
  local: boolean;
  /** @default denoResolver (Deno.resolveDns, 5 s) */
  resolve?: Resolver;
}

export type UrlVerdict =
  | { ok: true; url: URL }
  | { ok: false; reason: string };

/** Deno.resolveDns, with "no such record" as [] and a 5 s limit. */
export const denoResolver: Resolver = async (host, type) => {
  try {
    return await Deno.resolveDns(host, type, { signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
};

function refused(reason: string): UrlVerdict {
  return { ok: false, reason };
}

/** The URL's syntax: absolute, http(s), no credentials. */
function parse(text: string, local: boolean): URL | string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "The webhook URL is not an absolute URL.";
  }
  const schemes = local ? ["https:", "http:"] : ["https:"];
  if (!schemes.includes(url.protocol)) {
    return local ? "The webhook URL must be http or https." : "The webhook URL must be https.";
  }
  if (url.username !== "" || url.password !== "") {
    return "The webhook URL must not contain credentials.";
  }
  return url;
}

/** A refusal for `address`, or null when it may be reached. */
function addressVerdict(address: string, local: boolean): string | null {
  const kind = classifyAddress(address);
  if (kind === undefined) return `The webhook host resolved to something not an address.`;
  if (kind === null || (local && kind === "loopback")) return null;
  return `The webhook host is or resolves to a ${kind} address, which webhooks may not reach.`;
}

/** Checks `text` against the rules; resolves the host's name when it is not an address. */
export async function checkWebhookUrl(text: string, options: UrlRuleOptions): Promise<UrlVerdict> {
  const parsed = parse(text, options.local);
  if (typeof parsed === "string") return refused(parsed);
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  const literal = classifyAddress(host);
  if (literal !== undefined) {
    const reason = addressVerdict(host, options.local);
    return reason === null ? { ok: true, url: parsed } : refused(reason);
  }
  // `localhost` never goes to DNS (RFC 6761): it is loopback.
  if (host === "localhost" || host.endsWith(".localhost")) {
    return options.local
      ? { ok: true, url: parsed }
      : refused("The webhook host is a loopback name, which webhooks may not reach.");
  }
  const resolve = options.resolve ?? denoResolver;
  let addresses: string[];
  try {
    const [a, aaaa] = await Promise.all([resolve(host, "A"), resolve(host, "AAAA")]);
    addresses = [...a, ...aaaa];
  } catch {
    return refused("The webhook host could not be resolved.");
  }
  if (addresses.length === 0) return refused("The webhook host does not resolve.");
  for (const address of addresses) {
    const reason = addressVerdict(address, options.local);
    if (reason !== null) return refused(reason);
  }
  return { ok: true, url: parsed };
}
