/**
 * The top functions of a CPU profile by self time, the time by package, and Gatehouse's functions
 * by inclusive time:
 *   npx tsx bench/profile-top.ts <file.cpuprofile> [count]
 * (`npm run bench -- --profile` records profiles under load, in bench/results/.)
 */
import { summarizeProfile, type Timed } from './lib/cpuprofile.js';

const [file, count = '20'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: tsx bench/profile-top.ts <file.cpuprofile> [count]\n');
  process.exit(2);
}
const summary = summarizeProfile(file, Number(count));
const print = (title: string, rows: Timed[]) => {
  process.stdout.write(`\n  ms       share  ${title}\n`);
  for (const r of rows) {
    process.stdout.write(`${r.ms.toFixed(0).padStart(8)}  ${(r.share * 100).toFixed(1).padStart(5)}%  ${r.name}\n`);
  }
};
process.stdout.write(`${summary.totalMs.toFixed(0)} ms sampled\n`);
print('function, by self time', summary.self);
print('package, by self time', summary.byPackage);
if (summary.gatehouseInclusive.length > 0) print('Gatehouse function, by inclusive time', summary.gatehouseInclusive);
