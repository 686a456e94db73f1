/**
 * The `colo` command: a thin dispatcher over src/commands/*. Flags map onto config
 * paths; see `colo --help` and `colo <command> --help` (src/commands/usage.ts).
 */
import { parseArgs } from 'node:util';
import { loadConfig, type ColoConfig } from './config';
import { ColoError } from './core/errors';
import { createLogger } from './core/log';
import { serveCommand } from './commands/serve';
import { trainCommand } from './commands/train';
import { replayCommand } from './commands/replay';
import { modelsCommand, pullCommand } from './commands/models';
import { auditCommand } from './commands/audit';
import { COMMAND_USAGE, HELP, wantsHelp } from './commands/usage';

function serverConfig(argv: string[]): Readonly<ColoConfig> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      model: { type: 'string' },
      'log-level': { type: 'string' },
    },
  });
  const overrides: Record<string, string> = {};
  if (values.host) overrides['server.host'] = values.host;
  if (values.port) overrides['server.port'] = values.port;
  if (values['log-level']) overrides['log.level'] = values['log-level'];
  const config = loadConfig({ file: values.config, env: process.env, overrides });
  if (!values.model) return config;
  const source = values.model;
  const name = source.replace(/^.*[/:]/, '').replace(/\.gguf$/, '');
  const first = config.engine.models[0]!;
  return {
    ...config,
    engine: { ...config.engine, defaultModel: undefined, models: [{ ...first, name, source, aliases: [] }] },
  };
}

/** Takes --config FILE off the front of a command's own flags. */
function splitConfigFlags(argv: string[]): { config: Readonly<ColoConfig>; rest: string[] } {
  const i = argv.indexOf('--config');
  const file = i >= 0 ? argv[i + 1] : undefined;
  const rest = i >= 0 ? [...argv.slice(0, i), ...argv.slice(i + 2)] : argv;
  return { config: loadConfig({ file, env: process.env }), rest };
}

async function main(argv: string[]): Promise<number | 'running'> {
  const [first, ...rest] = argv;
  if (first === '--help' || first === '-h') {
    process.stdout.write(HELP);
    return 0;
  }
  const command = !first || first.startsWith('-') ? 'serve' : first;
  const args = command === first ? rest : argv;
  if (command === 'help') {
    const usage = args[0] === undefined ? HELP : COMMAND_USAGE[args[0]];
    if (usage === undefined) {
      process.stderr.write(`colo: unknown command "${args[0]}"\n\n${HELP}`);
      return 2;
    }
    process.stdout.write(usage);
    return 0;
  }
  // Before any flag parsing: `colo pull --help` must not try to pull "--help".
  if (wantsHelp(args) && COMMAND_USAGE[command] !== undefined) {
    process.stdout.write(COMMAND_USAGE[command]);
    return 0;
  }
  switch (command) {
    case 'serve': {
      const config = serverConfig(args);
      await serveCommand(config, createLogger(config.log.level));
      return 'running';
    }
    case 'models':
      return modelsCommand(serverConfig(args));
    case 'pull': {
      const { config, rest: spec } = splitConfigFlags(args);
      return pullCommand(config, spec);
    }
    case 'audit': {
      const { config, rest: flags } = splitConfigFlags(args);
      return auditCommand(config, flags);
    }
    case 'train-classifier':
      return trainCommand(args);
    case 'replay':
      return replayCommand(args);
    default:
      process.stderr.write(`colo: unknown command "${command}"\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 'running') process.exit(code);
  },
  (err: unknown) => {
    const msg =
      err instanceof ColoError ? `${err.code}: ${err.message}` : ((err as Error)?.stack ?? String(err));
    process.stderr.write(`colo: ${msg}\n`);
    process.exit(1);
  },
);
