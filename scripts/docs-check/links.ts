/**
 * Relative links of the docs: the file a link names exists, and a `#anchor` into a Markdown file names one of its
 * headings (GitHub's slugs: lower case, punctuation dropped, spaces as hyphens, `-1`, `-2` … for repeats).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { proseRows } from './markdown.js';

/** GitHub's anchor for each heading of a Markdown text, in order. */
export function headingSlugs(text: string): Set<string> {
  const seen = new Map<string, number>();
  const slugs = new Set<string>();
  for (const row of proseRows(text)) {
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/u.exec(row);
    if (!h) continue;
    const base = h[1]
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /gu, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    slugs.add(n === 0 ? base : `${base}-${n}`);
  }
  return slugs;
}

/** Problems of the relative links in `file` (relative to `repo`). */
export async function checkLinks(repo: string, file: string, text: string): Promise<string[]> {
  const problems: string[] = [];
  const rows = proseRows(text);
  for (let i = 0; i < rows.length; i++) {
    // Code spans may hold brackets that are not links.
    const row = rows[i].replace(/`[^`]*`/gu, '');
    for (const m of row.matchAll(/\]\(([^)\s]+)\)/gu)) {
      const target = m[1];
      if (/^[a-z]+:/iu.test(target)) continue;
      const [rel, anchor] = target.split('#');
      const dest = rel === '' ? path.join(repo, file) : path.resolve(path.dirname(path.join(repo, file)), rel);
      const shown = path.relative(repo, dest);
      if (!existsSync(dest)) {
        problems.push(`${file}:${i + 1}: links to ${shown}, which does not exist`);
        continue;
      }
      if (anchor && dest.endsWith('.md') && !headingSlugs(await readFile(dest, 'utf8')).has(anchor)) {
        problems.push(`${file}:${i + 1}: links to ${shown}#${anchor}, but ${shown} has no heading with that anchor`);
      }
    }
  }
  return problems;
}
