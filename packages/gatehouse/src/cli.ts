/**
 * The command line:
 *   gatehouse start --config <file>   run Gatehouse
 *   gatehouse check --config <file>   validate and print the effective configuration, secrets masked
 * Exit codes: 0 success, 1 invalid configuration or failed start, 2 bad usage.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { maskSecrets } from './config/describe.js';
import { ConfigError, loadConfigFile } from './config/load.js';
import { createGatehouse } from './server.js';

const USAGE = `Usage:
  gatehouse start --config <file>   Start Gatehouse with a JSON or YAML configuration
  gatehouse check --config <file>   Validate a configuration and print it with secrets masked
  gatehouse --version
`;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    process.stderr.write(`gatehouse: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  if ((command !== 'start' && command !== 'check') || positionals.length > 1) {
    process.stderr.write(`gatehouse: unknown command "${positionals.join(' ')}"\n\n${USAGE}`);
    return 2;
  }
  if (!values.config) {
    process.stderr.write(`gatehouse: --config <file> is required\n\n${USAGE}`);
    return 2;
  }

  let config;
  try {
    config = loadConfigFile(values.config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`gatehouse: ${error.message}\n`);
    return 1;
  }

  if (command === 'check') {
    process.stdout.write(`${JSON.stringify(maskSecrets({ ...config }), null, 2)}\n`);
    process.stderr.write('gatehouse: configuration is valid (durations are shown in milliseconds)\n');
    return 0;
  }

  const gatehouse = await createGatehouse(config);
  const { url, adminUrl } = await gatehouse.listen();
  gatehouse.app.log.info({ url, adminUrl }, 'gatehouse listening');
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      // Stop accepting at once, let what is in flight finish, but never hang a deployment.
      gatehouse.app.log.info({ signal }, 'shutting down');
      setTimeout(() => {
        gatehouse.app.log.warn('in-flight requests did not finish in time; exiting');
        process.exit(1);
      }, config.server.shutdownTimeout).unref();
      gatehouse.close().then(
        () => {
          gatehouse.app.log.info('shut down cleanly');
          resolve(0);
        },
        (error: unknown) => {
          gatehouse.app.log.error({ err: error }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
