/** The flags of a bench entry point: each with its default and meaning, so `--help` lists them. */
import { parseArgs } from "node:util";

/** Flag name → [default, meaning]; a default of `false` makes a boolean flag. */
export type FlagSpec = Record<string, readonly [string | false, string]>;

/** Parses `Deno.args`; `--help` prints `usage` and the flags, then exits. */
export function parseFlags<S extends FlagSpec>(usage: string, spec: S) {
  type Name = keyof S & string;
  const entries = Object.entries(spec);
  const options = Object.fromEntries(entries.map(([name, [fallback]]) => [name, {
    type: fallback === false ? "boolean" as const : "string" as const,
    default: fallback === false ? undefined : fallback,
  }]));
  options.help = { type: "boolean", default: undefined };
  const values: Record<string, unknown> = parseArgs({ args: Deno.args, options }).values;
  if (values.help) {
    const line = ([name, [fallback, meaning]]: (typeof entries)[number]) =>
      `  --${name.padEnd(20)} ${meaning}${fallback ? ` (${fallback})` : ""}`;
    console.log([usage, ...entries.map(line)].join("\n"));
    Deno.exit(0);
  }
  const str = (name: Name) => String(values[name] ?? "");
  /** A number ≥ 0, or an error naming the flag. */
  const num = (name: Name) => {
    const n = str(name) === "" ? NaN : Number(str(name));
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number ≥ 0`);
    return n;
  };
  return {
    str,
    num,
    /** `num`, or undefined when the flag is empty. */
    optionalNum: (name: Name) => (str(name) === "" ? undefined : num(name)),
    bool: (name: Name) => values[name] === true,
  };
}
