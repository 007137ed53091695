/**
 * `npm run conformance`: runs every conformance group (and its batch-size variants) — automatic mask generation,
 * tiles (../shared/conformance/tiles, after each family's own) and box prompts — and prints the table; exits 1 when
 * a limit is missed.
 * Usage: npm run conformance [-- --family sam1|sam2] [--group NAME] [--json]
 */
import { formatTable, groupRuns, listGroups, listTileGroups, runGroup, type Family, type GroupReport } from '../test/conformance/harness.js';
import { listPromptGroups, promptRuns, runPromptGroup } from '../test/conformance/prompt-harness.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const families: Family[] = opt('--family') ? [opt('--family') as Family] : ['sam1', 'sam2'];
const only = opt('--group');
const reports: GroupReport[] = [];
const report = (family: Family, name: string, rep: GroupReport): void => {
  reports.push(rep);
  process.stderr.write(`${family}/${name} batch ${rep.pointsPerBatch}: ${rep.ok ? 'ok' : 'FAILED'} in ${rep.seconds.toFixed(1)} s\n`);
  for (const f of rep.failures.slice(0, 5)) process.stderr.write(`  ${f}\n`);
};
for (const family of families) {
  const groups = [...listGroups(family), ...listTileGroups(family)].filter((g) => !only || g.name === only);
  for (const run of groupRuns(groups)) report(family, run.group.name, await runGroup(run));
  const prompts = listPromptGroups(family).filter((g) => !only || g.name === only);
  for (const run of promptRuns(prompts)) report(family, run.group.name, await runPromptGroup(run));
}
console.log(formatTable(reports));
if (args.includes('--json')) console.log(JSON.stringify(reports.map(({ images: _images, ...r }) => r)));
process.exitCode = reports.length > 0 && reports.every((r) => r.ok) ? 0 : 1;
