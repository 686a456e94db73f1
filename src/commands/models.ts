/** `colo models` lists manifest and configured models with what is on disk; `colo pull SPEC` fetches one. */
import { parseArgs } from 'node:util';
import type { ColoConfig } from '../config';
import { invalidArgument } from '../core/errors';
import {
  formatBytes,
  formatParameters,
  inspectModel,
  listModels,
  modelSourcesConfigSchema,
  pullModel,
  sourceOptions,
} from '../models';

export async function modelsCommand(config: Readonly<ColoConfig>): Promise<number> {
  const rows = await listModels({
    modelDirs: [...config.engine.modelDirs],
    cacheDir: config.engine.cacheDir,
  });
  process.stdout.write('configured:\n');
  for (const m of config.engine.models) {
    process.stdout.write(
      `  ${m.name}\t${m.source ?? m.name}\tsequences=${m.sequences} replicas=${m.replicas} threads=${m.threads}${m.fallback ? ` fallback=${m.fallback}` : ''}\n`,
    );
  }
  process.stdout.write('manifest:\n');
  for (const r of rows) {
    const local = r.local
      ? `${r.local.path} (${formatBytes(r.local.sizeBytes)})`
      : 'not on disk (colo pull ' + r.name + ')';
    process.stdout.write(
      `  ${r.name.padEnd(18)} ${(r.quantization ?? '').padEnd(5)} ${(r.parameters ?? '').padEnd(6)} ${local}\n`,
    );
  }
  return 0;
}

export async function pullCommand(config: Readonly<ColoConfig>, argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      offline: { type: 'boolean' },
      'base-url': { type: 'string' },
      sha256: { type: 'string' },
    },
  });
  const spec = positionals[0];
  if (!spec)
    throw invalidArgument(
      'SPEC',
      'usage: colo pull <name | hf:owner/repo/file.gguf | synthetic:1b-q4_0 | path> (colo pull --help)',
    );
  // Flags win over the `models` config section.
  const parsed = modelSourcesConfigSchema.safeParse({
    ...config.models,
    ...(values.offline ? { offline: true } : {}),
    ...(values['base-url'] ? { hfBaseUrl: values['base-url'] } : {}),
    ...(values.sha256
      ? { sha256Pins: { ...config.models.sha256Pins, [spec]: values.sha256.toLowerCase() } }
      : {}),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalidArgument(
      `--${issue?.path[0] === 'hfBaseUrl' ? 'base-url' : 'sha256'}`,
      issue?.message ?? 'invalid',
    );
  }
  const models = parsed.data;
  const r = await pullModel(spec, {
    ...(await sourceOptions(models)),
    modelDirs: [...config.engine.modelDirs],
    cacheDir: config.engine.cacheDir,
    progressOut: process.stderr,
  });
  const info = await inspectModel(r.path);
  process.stdout.write(`${r.name}: ${r.path} (${r.origin}${r.sha256 ? `, sha256 ${r.sha256}` : ''})\n`);
  process.stdout.write(
    `  ${info.architecture}, ${formatParameters(info.parameters)} parameters, ${info.quantization}, context ${info.contextLength ?? '?'}, ${formatBytes(info.sizeBytes)}\n`,
  );
  return 0;
}
