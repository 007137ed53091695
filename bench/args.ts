/** The bench scripts' command line: `--name value` options and bare `--flag`s, as given after the script. */

/** The arguments after the script's name. */
export const args: readonly string[] = process.argv.slice(2);

/** The value after option `name`, or undefined when it is not given. */
export function opt(name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Option `name` as a number (`Number` of its value), or undefined when it is not given. */
export function num(name: string): number | undefined {
  const v = opt(name);
  return v === undefined ? undefined : Number(v);
}

/** Whether flag `name` is given. */
export function flag(name: string): boolean {
  return args.includes(name);
}
