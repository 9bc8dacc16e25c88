/**
 * soak (--soak <s>): Gatehouse redis mode at full load (GET 1 KiB, all connections) for a long
 * time, its resident memory (VmRSS) sampled as it goes. "Flat" means the end is within 10% of the
 * start (taken after the warm-up): a leak per request would show as steady growth over millions of
 * requests.
 */
import { rssBytes } from '../lib/cpu.js';
import { runLoad } from '../lib/load.js';
import { problems } from '../lib/measure.js';
import { check, fmt, table, type Results } from '../lib/report.js';
import { startTarget, type Lab } from '../lib/targets.js';
import { ORDER_PATH } from '../lib/upstream.js';
import { runnable } from './throughput.js';

export async function soak(lab: Lab, results: Results): Promise<void> {
  if (runnable(lab, ['gh-redis'], results, 'soak').length === 0) return;
  const seconds = lab.options.soak;
  const every = Math.max(1, Math.min(10, Math.round(seconds / 60)));
  const target = await startTarget(lab, 'gh-redis');
  const pid = target.pids[0]!;
  try {
    const spec = {
      url: `${target.origin}/api${ORDER_PATH}`,
      seconds,
      connections: lab.options.connections,
      headers: target.headers,
    };
    if (lab.options.warmup > 0) await runLoad(lab.loadTool, { ...spec, seconds: lab.options.warmup }, lab.dir);
    process.stdout.write(`soak: ${seconds} s at full load, RSS every ${every} s...\n`);
    const samples: { s: number; rss: number }[] = [];
    const started = Date.now();
    const sample = () => samples.push({ s: Math.round((Date.now() - started) / 1000), rss: rssBytes(pid) });
    sample();
    const timer = setInterval(sample, every * 1000);
    const load = await runLoad(lab.loadTool, spec, lab.dir).finally(() => clearInterval(timer));
    sample();
    const start = samples[0]!.rss;
    const end = samples.at(-1)!.rss;
    const max = Math.max(...samples.map((s) => s.rss));
    table(
      `soak: Gatehouse redis mode, GET 1 KiB, ${seconds} s at full load`,
      ['req/s', 'requests', 'p99 ms', 'RSS start', 'RSS max', 'RSS end', 'end/start', 'problems'],
      [
        [
          fmt.rps(load.rps),
          load.requests.toLocaleString('en-US'),
          fmt.ms(load.p99Ms),
          fmt.mib(start),
          fmt.mib(max),
          fmt.mib(end),
          fmt.ratio(end / start),
          problems(load),
        ],
      ],
    );
    results.scenarios.soak = { seconds, load, rss: { start, max, end }, samples };
    check(
      results,
      'soak',
      `RSS over ${seconds} s at full load`,
      'end within 10% of start',
      `${fmt.mib(start)} -> ${fmt.mib(end)} (max ${fmt.mib(max)}) over ${load.requests.toLocaleString('en-US')} requests`,
      end <= start * 1.1 && !problems(load),
    );
  } finally {
    await target.stop();
  }
}
