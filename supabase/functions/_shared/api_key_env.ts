/**
 * Reads a project's API keys from the environment as hosted Edge Functions get them (spec 3):
 * `SUPABASE_SECRET_KEYS` / `SUPABASE_PUBLISHABLE_KEYS` are JSON dictionaries of key names to
 * keys (`{"default":"sb_secret_…","ci":"sb_secret_…"}`); the singular `SUPABASE_SECRET_KEY` /
 * `SUPABASE_PUBLISHABLE_KEY` holds one key. The rules are `@supabase/server`'s `resolveEnv`:
 * the dictionary wins over the single key, and every named key is accepted. Unlike it, a
 * dictionary that does not parse is a configuration error naming the variable, not "no keys".
 */
import { z } from "zod";

/** Thrown with the variable's name; config.ts turns it into a `ConfigError`. */
export class KeyEnvError extends Error {
  constructor(readonly variable: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "KeyEnvError";
  }
}

const KeyDictionary = z.record(z.string(), z.string().trim().min(1));

export interface KeyVariables {
  /** The JSON dictionary, e.g. `SUPABASE_SECRET_KEYS`. */
  plural: string;
  /** The one key, e.g. `SUPABASE_SECRET_KEY`. */
  singular: string;
  /** Used when neither variable is present at all (the local stack's default); else none. */
  fallback?: string;
}

/**
 * The keys, the `default` one first, then the rest in the dictionary's order, without
 * duplicates. A variable set to the empty string counts as set to "no keys", so a local stack
 * can say "no secret key" without its default taking over.
 */
export function readApiKeys(
  env: { get(name: string): string | undefined },
  variables: KeyVariables,
): string[] {
  const plural = env.get(variables.plural);
  const singular = env.get(variables.singular);
  if (plural?.trim()) return dictionaryKeys(plural, variables.plural);
  if (singular?.trim()) return [singular.trim()];
  if (plural !== undefined || singular !== undefined) return [];
  return variables.fallback === undefined ? [] : [variables.fallback];
}

function dictionaryKeys(raw: string, variable: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (cause) {
    throw new KeyEnvError(variable, 'must be a JSON object of names to keys ({"default":"…"}).', {
      cause,
    });
  }
  const dictionary = KeyDictionary.safeParse(parsed);
  if (!dictionary.success) {
    throw new KeyEnvError(
      variable,
      'must be a JSON object whose values are non-empty key strings ({"default":"…"}).',
    );
  }
  const { default: first, ...rest } = dictionary.data;
  const keys = [...(first === undefined ? [] : [first]), ...Object.values(rest)];
  return [...new Set(keys)];
}
