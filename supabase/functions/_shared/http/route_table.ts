/**
 * Which routes a path names. A route's path is its name after the function's name, with
 * `:name` segments for parameters (`webhooks/:id/deliveries`); a literal route wins over a
 * parameter route of the same shape. A parameter matches one non-empty segment, decoded.
 */

/** What this module needs of a route. */
export interface PathRoute {
  path: string;
}

export interface PathMatch<R> {
  /** The routes (one per method) of the matched path. */
  routes: R[];
  /** The route path that matched, e.g. `webhooks/:id`: what the request log names. */
  pattern: string;
  /** The parameter values by name, e.g. `{ id: "…" }`. */
  params: Record<string, string>;
}

interface Entry<R> {
  pattern: string;
  segments: string[];
  routes: R[];
}

export class RouteTable<R extends PathRoute> {
  readonly #literal = new Map<string, Entry<R>>();
  readonly #parameterised: Entry<R>[] = [];

  constructor(routes: readonly R[]) {
    for (const route of routes) {
      const segments = route.path.split("/");
      const hasParams = segments.some((s) => s.startsWith(":"));
      const existing = hasParams
        ? this.#parameterised.find((e) => e.pattern === route.path)
        : this.#literal.get(route.path);
      if (existing) {
        existing.routes.push(route);
        continue;
      }
      const entry = { pattern: route.path, segments, routes: [route] };
      if (hasParams) this.#parameterised.push(entry);
      else this.#literal.set(route.path, entry);
    }
  }

  /** The routes of `path` (already without the function name), or null for an unknown path. */
  match(path: string): PathMatch<R> | null {
    const literal = this.#literal.get(path);
    if (literal) return { routes: literal.routes, pattern: literal.pattern, params: {} };
    const segments = path.split("/");
    for (const entry of this.#parameterised) {
      const params = matchSegments(entry.segments, segments);
      if (params) return { routes: entry.routes, pattern: entry.pattern, params };
    }
    return null;
  }
}

function matchSegments(pattern: string[], segments: string[]): Record<string, string> | null {
  if (pattern.length !== segments.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    if (!pattern[i].startsWith(":")) {
      if (pattern[i] !== segments[i]) return null;
      continue;
    }
    const value = decodeSegment(segments[i]);
    if (value === null || value === "") return null;
    params[pattern[i].slice(1)] = value;
  }
  return params;
}

/** A segment's decoded value; null when it is not valid percent-encoding. */
function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
