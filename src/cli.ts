/**
 * The `colo` command. Sub-commands: serve (default), models, pull. Flags map onto
 * config paths; see `colo --help`.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from './config';
import { ColoError } from './core/errors';
import { createLogger } from './core/log';
import { startColo } from './app/colo';

const HELP = `colo — low-latency LLM inference runtime for trading

usage: colo [command] [flags]

commands:
  serve            start the server (default)
  models           list configured models
  help             this text

flags (serve):
  --config FILE    JSON config file (or COLO_CONFIG)
  --host HOST      listen address (default 127.0.0.1; or COLO_HOST)
  --port PORT      listen port (default 8080; 0 picks one; or COLO_PORT)
  --model SOURCE   serve this model instead of the configured ones (name, path, hf:, synthetic:)
  --log-level L    debug | info | warn | error (or COLO_LOG_LEVEL)
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      model: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0] ?? 'serve';
  if (values.help || command === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  const overrides: Record<string, string> = {};
  if (values.host) overrides['server.host'] = values.host;
  if (values.port) overrides['server.port'] = values.port;
  if (values['log-level']) overrides['log.level'] = values['log-level'];
  let config = loadConfig({ file: values.config, env: process.env, overrides });
  if (values.model) {
    const name = values.model.replace(/^.*\//, '').replace(/\.gguf$/, '');
    config = loadConfig({
      file: values.config,
      env: process.env,
      overrides,
    });
    config = { ...config, engine: { ...config.engine, models: [{ ...config.engine.models[0]!, name, source: values.model, aliases: [] }] } };
  }
  const log = createLogger(config.log.level);

  switch (command) {
    case 'models':
      for (const m of config.engine.models) process.stdout.write(`${m.name}\t${m.source ?? m.name}\tsequences=${m.sequences}\tthreads=${m.threads}\n`);
      return 0;
    case 'serve': {
      const colo = await startColo(config, log);
      const stop = (signal: string) => {
        colo.shutdown(signal).then(
          () => process.exit(0),
          (err: unknown) => {
            log.error('shutdown failed', { error: String(err) });
            process.exit(1);
          },
        );
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
      return -1;
    }
    default:
      process.stderr.write(`colo: unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    const msg = err instanceof ColoError ? `${err.code}: ${err.message}` : (err as Error)?.stack ?? String(err);
    process.stderr.write(`colo: ${msg}\n`);
    process.exit(1);
  },
);
