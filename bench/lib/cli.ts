/** The flags of a bench entry point: each with its default and meaning, so `--help` lists them. */
import { parseArgs } from "node:util";

/** Flag name → [default, meaning]; a default of `false` makes a boolean flag. */
type FlagSpec = Record<string, readonly [string | false, string]>;

/** Parses `Deno.args`; `--help` prints `usage` and the flags, then exits. */
export function parseFlags<S extends FlagSpec>(usage: string, spec: S) {
  type Name = keyof S & string;
  const entries = Object.entries(spec);
  const options = Object.fromEntries(entries.map(([name, [fallback]]) => [name, {
    type: fallback === false ? "boolean" as const : "string" as const,
    default: fallback === false ? undefined : fallback,
  }]));
  const args = parseArgs({ args: Deno.args, options: { ...options, help: { type: "boolean" } } });
  const values: Record<string, unknown> = args.values;
  if (values.help) {
    const line = ([name, [fallback, meaning]]: (typeof entries)[number]) =>
      `  --${name.padEnd(20)} ${meaning}${fallback ? ` (${fallback})` : ""}`;
    console.log([usage, ...entries.map(line)].join("\n"));
    Deno.exit(0);
  }
  const str = (name: Name) => String(values[name] ?? "");
  /** A number ≥ 0, or an error naming the flag; `optionalNum`: undefined when it is empty. */
  const num = (name: Name) => {
    const n = str(name) === "" ? NaN : Number(str(name));
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number ≥ 0`);
    return n;
  };
  const optionalNum = (name: Name) => (str(name) === "" ? undefined : num(name));
  return { str, num, optionalNum, bool: (name: Name) => values[name] === true };
}
