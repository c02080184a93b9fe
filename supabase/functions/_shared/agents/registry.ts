/**
 * The agent registry (spec 6.1): `wisely.agents` rows turned into the configuration the agent
 * client runs with. Rows are validated; a missing or invalid row falls back to the built-in
 * default for that agent, and rows naming agents this build does not know are ignored.
 *
 * `scope` says what an agent is asked for (scope.ts): `intent_week` agents (clo, ta, socratic)
 * are asked for a week pack, `intent` ones (alex) answer for the whole intent. What an answer
 * is cached for is decided by the answer itself, so a week-scoped agent that answers one day
 * is cached for that day only.
 */
import { z } from "zod";
import { AGENT_NAMES, type AgentName, AgentNameSchema } from "./protocol.ts";
import { AGENT_SCOPES, type AgentScope } from "./scope.ts";

export interface AgentConfig {
  name: AgentName;
  /** Absolute URL the client POSTs to. */
  url: string;
  scope: AgentScope;
  /** Seconds a cached answer is served without a call. */
  freshnessS: number;
  /** Ceiling for one attempt, in milliseconds. */
  timeoutMs: number;
  enabled: boolean;
  /** Bulkhead size: concurrent calls to this agent from one isolate. */
  maxConcurrency: number;
  sortOrder: number;
}

/** One `wisely.agents` row, as the database returns it. */
export const AgentRowSchema = z.object({
  name: AgentNameSchema,
  path: z.string().trim().min(1).max(500),
  scope: z.enum(AGENT_SCOPES),
  freshness_s: z.int().positive(),
  timeout_ms: z.int().min(100).max(120_000),
  required: z.boolean(),
  enabled: z.boolean().default(true),
  max_concurrency: z.int().min(1).max(10_000).default(32),
  sort_order: z.int().default(0),
});
export type AgentRow = z.output<typeof AgentRowSchema>;

/**
 * The seed rows as the migrations leave them (schema, then 20260101000800_wisely_week_packs):
 * what runs when the table is empty or a row is missing.
 */
export const DEFAULT_AGENTS: readonly Readonly<AgentRow>[] = [
  {
    name: "clo",
    path: "/functions/v1/agent-clo",
    scope: "intent_week",
    freshness_s: 604_800,
    timeout_ms: 15_000,
    required: true,
    enabled: true,
    max_concurrency: 32,
    sort_order: 1,
  },
  {
    name: "alex",
    path: "/functions/v1/agent-alex",
    scope: "intent",
    freshness_s: 604_800,
    timeout_ms: 15_000,
    required: false,
    enabled: true,
    max_concurrency: 32,
    sort_order: 2,
  },
  {
    name: "ta",
    path: "/functions/v1/agent-ta",
    scope: "intent_week",
    freshness_s: 604_800,
    timeout_ms: 15_000,
    required: false,
    enabled: true,
    max_concurrency: 32,
    sort_order: 3,
  },
  {
    name: "socratic",
    path: "/functions/v1/agent-socratic",
    scope: "intent_week",
    freshness_s: 604_800,
    timeout_ms: 15_000,
    required: false,
    enabled: true,
    max_concurrency: 32,
    sort_order: 4,
  },
];

const NamedRowSchema = z.object({ name: AgentNameSchema });

export interface ParseAgentRowsOptions {
  /** Told about each row that names a known agent but fails validation (its default is used). */
  onInvalidRow?: (row: unknown, error: z.ZodError) => void;
}

/**
 * Turns registry rows into one `AgentConfig` per known agent, ordered by `sort_order` then by
 * `AGENT_NAMES`. `path` is an absolute http(s) URL or a path joined to `edgeBaseUrl`. Unknown
 * names are ignored; a known agent with no valid row gets its `DEFAULT_AGENTS` entry. When two
 * rows name the same agent, the first valid one wins.
 */
export function parseAgentRows(
  rows: readonly unknown[],
  edgeBaseUrl: string,
  options: ParseAgentRowsOptions = {},
): AgentConfig[] {
  const byName = new Map<AgentName, AgentRow>();
  for (const row of rows) {
    const named = NamedRowSchema.safeParse(row);
    if (!named.success || byName.has(named.data.name)) continue;
    const parsed = AgentRowSchema.safeParse(row);
    if (parsed.success) byName.set(parsed.data.name, parsed.data);
    else options.onInvalidRow?.(row, parsed.error);
  }
  const configs = DEFAULT_AGENTS.map((fallback) =>
    toAgentConfig(byName.get(fallback.name) ?? fallback, edgeBaseUrl)
  );
  return configs.sort((a, b) =>
    a.sortOrder - b.sortOrder || AGENT_NAMES.indexOf(a.name) - AGENT_NAMES.indexOf(b.name)
  );
}

function toAgentConfig(row: Readonly<AgentRow>, edgeBaseUrl: string): AgentConfig {
  return {
    name: row.name,
    url: agentUrl(row.path, edgeBaseUrl),
    scope: row.scope,
    freshnessS: row.freshness_s,
    timeoutMs: row.timeout_ms,
    enabled: row.enabled,
    maxConcurrency: row.max_concurrency,
    sortOrder: row.sort_order,
  };
}

/** `path` as is when it is an absolute http(s) URL, else joined to the base with one slash. */
export function agentUrl(path: string, edgeBaseUrl: string): string {
  if (/^https?:\/\//i.test(path)) return path;
  return `${edgeBaseUrl.replace(/\/+$/, "")}/${path.replace(/^\/+/, "")}`;
}
