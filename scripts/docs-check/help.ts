/**
 * The CLI's flags as its help states them: `sam-amg --help`, then the help of every command its "Commands:" lists
 * name, recursively (`sam-amg models pull --help`, …). The help is the reference, so that the check follows the CLI
 * however its definitions are organised. The CLI runs in this process (no child process, no build needed).
 */
import { main } from '../../src/cli/main.js';

/** One flag of a command: its long form and, when it has one, its short form. */
export interface HelpFlag {
  long: string;
  short?: string;
  /** The values it accepts, when the help lists them (`choices: "coco", "sa1b"`). */
  choices?: string[];
}

/** A command (`[]` for the mask generator itself) and its flags. */
export interface CommandHelp {
  path: string[];
  flags: HelpFlag[];
}

/** `sam-amg` followed by the path: how the docs name a command. */
export const commandName = (path: readonly string[]): string => ['sam-amg', ...path].join(' ');

/** The flags and subcommands of one help text. */
export function parseHelp(text: string): { flags: HelpFlag[]; commands: string[] } {
  const flags: HelpFlag[] = [];
  const descriptions: string[] = [];
  const commands: string[] = [];
  let section = '';
  for (const line of text.split('\n')) {
    const head = /^(\w[\w ]*):\s*$/u.exec(line);
    if (head) {
      section = head[1];
      continue;
    }
    if (/^\S/u.test(line)) section = '';
    if (section === 'Options') {
      const m = /^ {2}(?:(-[A-Za-z0-9]), )?(--[A-Za-z0-9][\w-]*)(.*)$/u.exec(line);
      if (m) {
        flags.push(m[1] ? { long: m[2], short: m[1] } : { long: m[2] });
        descriptions.push(m[3]);
      } else if (/^ {3,}\S/u.test(line) && descriptions.length > 0) {
        // A description wrapped onto the next line.
        descriptions[descriptions.length - 1] += ` ${line.trim()}`;
      }
    } else if (section === 'Commands') {
      const m = /^ {2}([a-z][\w-]*)/u.exec(line);
      if (m && m[1] !== 'help') commands.push(m[1]);
    }
  }
  flags.forEach((f, i) => {
    const c = /choices: ((?:"[^"]*"(?:,\s*)?)+)/u.exec(descriptions[i]);
    if (c) f.choices = [...c[1].matchAll(/"([^"]*)"/gu)].map((x) => x[1]);
  });
  return { flags, commands };
}

/** What `sam-amg ARGS` prints on stdout, run in this process. */
async function helpText(args: string[]): Promise<string> {
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => (out.push(String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => (out.push(String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await main(['node', 'sam-amg', ...args]);
    if (code !== 0) throw new Error(`sam-amg ${args.join(' ')} exited ${code}: ${out.join('')}`);
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  }
  return out.join('');
}

/** Every command of the CLI with its flags, from its help. */
export async function collectHelp(): Promise<CommandHelp[]> {
  const result: CommandHelp[] = [];
  const walk = async (path: string[]): Promise<void> => {
    const { flags, commands } = parseHelp(await helpText([...path, '--help']));
    result.push({ path, flags });
    for (const c of commands) await walk([...path, c]);
  };
  await walk([]);
  return result;
}
