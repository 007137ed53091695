/**
 * `npm run conformance`: runs every conformance group and prints the table; exits 1 when a limit is missed.
 * Usage: npm run conformance [-- --family sam1|sam2] [--group NAME] [--json]
 */
import { formatTable, listGroups, modelDir, runGroup, type Family, type GroupReport } from '../test/conformance/harness.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const families: Family[] = opt('--family') ? [opt('--family') as Family] : ['sam1', 'sam2'];
const only = opt('--group');
const reports: GroupReport[] = [];
for (const family of families) {
  for (const group of listGroups(family)) {
    if (only && group.name !== only) continue;
    const batches = group.name === 'default' ? [undefined, 1] : [undefined];
    for (const b of batches) {
      const rep = await runGroup(group, modelDir(family), b === undefined ? {} : { pointsPerBatch: b });
      reports.push(rep);
      process.stderr.write(`${family}/${group.name} batch ${rep.pointsPerBatch}: ${rep.ok ? 'ok' : 'FAILED'} in ${rep.seconds.toFixed(1)} s\n`);
      for (const f of rep.failures.slice(0, 5)) process.stderr.write(`  ${f}\n`);
    }
  }
}
console.log(formatTable(reports));
if (args.includes('--json')) console.log(JSON.stringify(reports.map(({ images: _images, ...r }) => r)));
process.exitCode = reports.every((r) => r.ok) ? 0 : 1;
