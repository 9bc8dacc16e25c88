/**
 * coldstart: how long a fresh Gatehouse takes to give its first answer, on AWS Lambda (the handler
 * of dist/lambda in a new `node` process: import, build, one function-URL event) and as the Node
 * server (`gatehouse start`), both timed from spawn to a signed-in API call's 200, provider
 * discovery included. Both run the same configuration document (cookie store: Lambda has no
 * memory store, and a sealed cookie needs no Redis), the Lambda's without the listener settings it
 * refuses. One sign-in at a Node server started first (not timed) makes the session cookie that
 * every start is then asked with. Beside them, the import of the server's modules alone (dist/cli.js)
 * in a fresh process, to set against the Lambda's import of dist/lambda. `--cold-starts` of each,
 * taking turns and rotating which goes first; one round before, not counted, so every counted start
 * finds the files in the page cache.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  functionUrlEvent,
  importColdStart,
  lambdaColdStart,
  serverColdStart,
  type LambdaStart,
} from '../lib/cold-start.js';
import { gatehouseConfig, setupFor, startGatehouse, type GatehouseSetup } from '../lib/gatehouse.js';
import { signIn } from '../lib/login.js';
import { check, fmt, percentile, table, type Results } from '../lib/report.js';
import type { Lab } from '../lib/targets.js';
import { ORDER_PATH } from '../lib/upstream.js';
import { runnable } from './throughput.js';

/** The bound, and why it is this one: bench/README.md ("The targets"). */
export const LAMBDA_BOUND = 1;
/** What `gatehouse start` imports: the CLI and, through it, the server. */
const SERVER_MODULE = fileURLToPath(new URL('../../packages/gatehouse/dist/cli.js', import.meta.url));

export async function coldstart(lab: Lab, results: Results): Promise<void> {
  if (runnable(lab, ['gh-lambda'], results, 'coldstart').length === 0) return;
  const slot = lab.slots.get('gh-lambda')!;
  const origin = `http://127.0.0.1:${slot.port}`;
  const setup = setupFor('gh-lambda', 'cookie', slot, lab);
  const secrets = [randomBytes(32).toString('base64url')];
  const document = gatehouseConfig(setup, secrets) as Record<string, unknown>;
  const file = join(lab.dir, 'gatehouse-cold-start.json');
  writeFileSync(file, JSON.stringify(document));
  const { server: _server, admin: _admin, ...lambdaDocument } = document;
  const lambdaConfig = JSON.stringify(lambdaDocument);

  const headers = await sessionCookie(lab, setup, secrets, origin);
  const url = `${origin}/api${ORDER_PATH}`;
  const event = functionUrlEvent(origin, `/api${ORDER_PATH}`, headers);
  const node: number[] = [];
  const nodeImport: number[] = [];
  const lambda: LambdaStart[] = [];
  const count = lab.options.coldStarts;
  const kinds = [
    async () => node.push((await serverColdStart(file, url, headers)).totalMs),
    async () => lambda.push(await lambdaColdStart(lambdaConfig, event)),
    async () => nodeImport.push(await importColdStart(SERVER_MODULE)),
  ];
  process.stdout.write(`coldstart: ${count} + 1 fresh processes of each kind, taking turns...\n`);
  for (let round = -1; round < count; round++) {
    // Each kind goes first in turn; the uncounted first round puts every file in the page cache.
    for (let k = 0; k < kinds.length; k++) await kinds[(k + round + 1) % kinds.length]!();
    if (round < 0) [node, nodeImport, lambda].forEach((list) => (list.length = 0));
  }

  const stats = (values: number[]) => ({
    median: percentile(values, 50),
    p90: percentile(values, 90),
    min: Math.min(...values),
    max: Math.max(...values),
  });
  const server = stats(node);
  const handler = stats(lambda.map((s) => s.totalMs));
  const inside = {
    booted: stats(lambda.map((s) => s.bootedMs)),
    import: stats(lambda.map((s) => s.importMs)),
    firstAnswer: stats(lambda.map((s) => s.firstAnswerMs)),
  };
  const row = (name: string, s: ReturnType<typeof stats>, ratio?: number) => [
    name,
    fmt.ms(s.median),
    fmt.ms(s.p90),
    fmt.ms(s.min),
    fmt.ms(s.max),
    ratio === undefined ? '' : fmt.ratio(ratio),
  ];
  // Each round's Lambda start over the server's start of the same round, seconds apart: this host's drift cancels out.
  const paired = lambda.map((s, i) => s.totalMs / node[i]!);
  const ratio = percentile(paired, 50);
  table(
    `coldstart: spawn to the first answer (a signed-in GET /api${ORDER_PATH}, 200 with 1 KiB), ${count} fresh processes each, ms`,
    ['runtime', 'median', 'p90', 'min', 'max', 'vs Node server (median of rounds)'],
    [
      row('Node server (gatehouse start)', server, 1),
      row('  import dist/cli.js alone (own process)', stats(nodeImport)),
      row('Lambda handler (new node process)', handler, ratio),
      row('  of which Node start-up', inside.booted),
      row('  of which import dist/lambda', inside.import),
      row('  of which build + first answer', inside.firstAnswer),
    ],
  );
  results.scenarios.coldstart = {
    count,
    server: { ...server, import: stats(nodeImport) },
    lambda: { ...handler, inside },
    paired,
    runs: { node, nodeImport, lambda },
  };
  check(
    results,
    'coldstart',
    'Lambda cold start vs the Node server (spawn to first answer, round by round)',
    `<= ${fmt.ratio(LAMBDA_BOUND)}`,
    `${fmt.ratio(ratio)} (medians ${fmt.ms(handler.median)} vs ${fmt.ms(server.median)} ms, p90 ${fmt.ms(handler.p90)} ` +
      `vs ${fmt.ms(server.p90)} ms; import of dist/lambda ${fmt.ms(inside.import.median)} ms; rounds: ` +
      `${paired.map((r) => r.toFixed(2)).join(' ')})`,
    ratio <= LAMBDA_BOUND,
  );
}

/** Signs in once at a Node server with this document's secrets: the cookie seals the session for both runtimes. */
async function sessionCookie(
  lab: Lab,
  setup: GatehouseSetup,
  secrets: string[],
  origin: string,
): Promise<Record<string, string>> {
  const gatehouse = await startGatehouse(lab.dir, { ...setup, name: 'gh-lambda-sign-in', secrets });
  try {
    const { cookie } = await signIn({ origin, loginPath: '/api/auth/login', callbackPath: '/api/auth/callback' });
    return { cookie, 'x-csrf': '1' };
  } finally {
    await gatehouse.child.stop();
  }
}
