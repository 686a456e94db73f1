/** Runner for Colo's own hashed-feature models (see train.ts, onnx/hashedGraph.ts). */
import { join } from 'node:path';
import { Featurizer, featurizerSpecSchema } from './featurize';
import { FEATURIZER_FILE, LABELS_FILE, MODEL_FILE, loadFailed, readJson, readLabels } from './modelDir';
import { HASHED_INPUTS, HASHED_OUTPUT } from './onnx/hashedGraph';
import type { ClassifierRunner, RunnerOptions } from './runner';
import { openSession, ort, outputLastDim } from './session';

export class HashedRunner implements ClassifierRunner {
  readonly kind = 'hashed' as const;
  private closed = false;

  private constructor(
    readonly labels: readonly string[],
    readonly featurizer: Featurizer,
    private readonly session: ort.InferenceSession,
  ) {}

  static async load(dir: string, opts: RunnerOptions = {}): Promise<HashedRunner> {
    const featPath = join(dir, FEATURIZER_FILE);
    const parsed = featurizerSpecSchema.safeParse(await readJson(featPath));
    if (!parsed.success)
      throw loadFailed(featPath, `invalid featurizer spec (${parsed.error.issues[0]?.message ?? 'schema'})`);
    const labels = await readLabels(dir);
    const modelPath = join(dir, MODEL_FILE);
    const session = await openSession(modelPath, opts);
    try {
      const missing = HASHED_INPUTS.filter((n) => !session.inputNames.includes(n));
      if (missing.length > 0 || !session.outputNames.includes(HASHED_OUTPUT)) {
        throw loadFailed(
          modelPath,
          `not a hashed classifier graph (needs inputs ${HASHED_INPUTS.join(', ')} and output ${HASHED_OUTPUT})`,
        );
      }
      const dim = outputLastDim(session, HASHED_OUTPUT);
      if (dim !== undefined && dim !== labels.length) {
        throw loadFailed(modelPath, `outputs ${dim} classes but ${LABELS_FILE} names ${labels.length}`);
      }
      const runner = new HashedRunner(labels, new Featurizer(parsed.data), session);
      // Warm-up doubles as a check that the graph runs and really has labels.length outputs.
      const probe = await runner.run(['warm up']);
      if (probe.length !== labels.length) {
        throw loadFailed(
          modelPath,
          `outputs ${probe.length} classes but ${LABELS_FILE} names ${labels.length}`,
        );
      }
      return runner;
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  async run(texts: readonly string[]): Promise<Float32Array> {
    const feats = texts.map((t) => this.featurizer.featurize(t));
    let nnz = 0;
    for (const f of feats) nnz += f.indices.length;
    const indices = new Int32Array(nnz);
    const values = new Float32Array(nnz);
    const rows = new Int32Array(nnz);
    let o = 0;
    for (let r = 0; r < feats.length; r++) {
      const f = feats[r]!;
      indices.set(f.indices, o);
      values.set(f.values, o);
      rows.fill(r, o, o + f.indices.length);
      o += f.indices.length;
    }
    const out = await this.session.run({
      indices: new ort.Tensor('int32', indices, [nnz]),
      values: new ort.Tensor('float32', values, [nnz]),
      rows: new ort.Tensor('int32', rows, [nnz]),
      batch_size: new ort.Tensor('int64', BigInt64Array.of(BigInt(texts.length)), [1]),
    });
    return out[HASHED_OUTPUT]!.data as Float32Array;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.release();
  }
}
