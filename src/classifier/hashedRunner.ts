/**
 * Runner for Colo's own hashed-feature models (see train.ts, onnx/hashedGraph.ts).
 *
 * Kernel: with `kernel: 'auto'` (the default) a file whose graph is exactly the one
 * buildHashedModel writes is computed in TypeScript (`linear.ts`: a sparse dot product,
 * ~1 µs a headline) instead of an onnxruntime run (~30–60 µs, most of it fixed per
 * call: tensor wrapping, a setImmediate hop, graph dispatch; bench/README.md
 * "Classifier kernel"). onnxruntime still loads and checks every file, and at load both
 * kernels classify the same probe texts: if they disagree the runner stays on
 * onnxruntime. `kernel: 'onnx'` runs onnxruntime on every request.
 */
import { join } from 'node:path';
import { Featurizer, featurizerSpecSchema } from './featurize';
import { type LinearModel, logits, softmax } from './linear';
import {
  FEATURIZER_FILE,
  LABELS_FILE,
  MODEL_FILE,
  loadFailed,
  readBytes,
  readJson,
  readLabels,
} from './modelDir';
import { HASHED_INPUTS, HASHED_OUTPUT, readHashedModel } from './onnx/hashedGraph';
import type { ClassifierRunner, RunnerOptions } from './runner';
import { openSession, ort, outputLastDim } from './session';

/** Texts both kernels must agree on at load (probabilities within AGREE_TOLERANCE). */
const PROBE_TEXTS = [
  'warm up',
  '$AAPL beats estimates, raises guidance',
  'Operating loss widened to EUR 4.2 million from EUR 1.1 million',
  '',
];
const AGREE_TOLERANCE = 1e-4;

export class HashedRunner implements ClassifierRunner {
  readonly kind = 'hashed' as const;
  private closed = false;
  /** Set when the TypeScript kernel serves requests (the session is then released). */
  private linear: LinearModel | undefined;
  private readonly z: Float64Array<ArrayBuffer>;

  private constructor(
    readonly labels: readonly string[],
    readonly featurizer: Featurizer,
    private session: ort.InferenceSession | undefined,
  ) {
    this.z = new Float64Array(labels.length);
  }

  /** Which kernel serves requests: 'typescript' (Colo's own graph, checked against onnxruntime) or 'onnx'. */
  get kernel(): 'typescript' | 'onnx' {
    return this.linear ? 'typescript' : 'onnx';
  }

  static async load(dir: string, opts: RunnerOptions = {}): Promise<HashedRunner> {
    const featPath = join(dir, FEATURIZER_FILE);
    const parsed = featurizerSpecSchema.safeParse(await readJson(featPath));
    if (!parsed.success)
      throw loadFailed(featPath, `invalid featurizer spec (${parsed.error.issues[0]?.message ?? 'schema'})`);
    const labels = await readLabels(dir);
    const modelPath = join(dir, MODEL_FILE);
    const bytes = await readBytes(modelPath);
    const session = await openSession(modelPath, opts, bytes);
    const runner = new HashedRunner(labels, new Featurizer(parsed.data), session);
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
      // Warm-up doubles as a check that the graph runs and really has labels.length outputs.
      const probe = await runner.runOnnx(PROBE_TEXTS);
      if (probe.length !== labels.length * PROBE_TEXTS.length) {
        throw loadFailed(
          modelPath,
          `outputs ${probe.length / PROBE_TEXTS.length} classes but ${LABELS_FILE} names ${labels.length}`,
        );
      }
      if ((opts.kernel ?? 'auto') === 'auto') {
        const linear = readLinear(bytes);
        if (linear && linear.classes === labels.length) {
          runner.linear = linear;
          const mine = await runner.run(PROBE_TEXTS);
          const agree = mine.every((p, i) => Math.abs(p - probe[i]!) <= AGREE_TOLERANCE);
          if (agree) {
            runner.session = undefined;
            await session.release();
          } else runner.linear = undefined;
        }
      }
      return runner;
    } catch (err) {
      await runner.session?.release();
      throw err;
    }
  }

  run(texts: readonly string[]): Promise<Float32Array> {
    const m = this.linear;
    if (!m) return this.runOnnx(texts);
    try {
      const C = m.classes;
      const out = new Float32Array(texts.length * C);
      const z = this.z;
      for (let r = 0; r < texts.length; r++) {
        softmax(logits(m, this.featurizer.featurize(texts[r]!), z));
        for (let c = 0; c < C; c++) out[r * C + c] = z[c]!;
      }
      return Promise.resolve(out);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private async runOnnx(texts: readonly string[]): Promise<Float32Array> {
    const session = this.session;
    if (!session) throw new Error('onnxruntime session released');
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
    const out = await session.run({
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
    await this.session?.release();
  }
}

/** The file's linear weights, or undefined when its graph is not Colo's (or cannot be read). */
function readLinear(bytes: Uint8Array): LinearModel | undefined {
  try {
    return readHashedModel(bytes);
  } catch {
    return undefined; // onnxruntime loaded it, so it stays on onnxruntime
  }
}
