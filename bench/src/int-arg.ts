/** `--name=<integer>` from the command line, `fallback` when absent; anything outside min–max throws, naming the range. */
export function intArg(name: string, fallback: number, min: number, max: number): number {
  const raw = process.argv.slice(2).find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const v = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`--${name} must be an integer from ${min} to ${max}; got ${raw}`);
  return v;
}
