/**
 * A loaded text classifier: validation, micro-batching, and a runner either inline or on
 * a Piscina pool. This is what the server, skills and replay call.
 */
import { ColoError } from '../core/errors';
import { MicroBatcher } from './batcher';
import { type ClassifierConfig, classifierConfigSchema } from './config';
import type { ModelKind } from './modelDir';
import { ClassifierPool } from './pool';
import { type ClassifierRunner, type RunnerOptions, loadRunner } from './runner';
import { type TextInput, validateText } from './text';

export type ClassifierOptions = Omit<ClassifierConfig, 'models'>;

export interface Classification {
  /** Most probable class name. */
  label: string;
  labelIndex: number;
  /** Probability per class, in `labels` order. */
  probs: number[];
  /** Probability of `label`. */
  confidence: number;
  /**
   * Cascade marker: confidence < the model's `escalateBelow`. The answer is still the
   * classifier's best guess; a caller with time left should ask the LLM skill instead.
   */
  escalate: boolean;
}

export class Classifier {
  private closed = false;

  private constructor(
    readonly dir: string,
    readonly kind: ModelKind,
    readonly labels: readonly string[],
    readonly options: Readonly<ClassifierOptions>,
    private readonly batcher: MicroBatcher,
    private readonly release: () => Promise<void>,
  ) {}

  /** Loads a model directory; throws MODEL_LOAD_FAILED naming the file at fault. */
  static async load(dir: string, options: Partial<ClassifierOptions> = {}): Promise<Classifier> {
    const { models: _models, ...opts } = classifierConfigSchema.parse({ ...options });
    const runnerOpts: RunnerOptions = {
      intraOpThreads: opts.intraOpThreads,
      maxTokens: opts.maxTokens,
      kernel: opts.kernel,
    };
    // Loading inline first validates the directory with precise errors and tells us the labels.
    const runner: ClassifierRunner = await loadRunner(dir, runnerOpts);
    const { kind, labels } = runner;
    if (opts.mode === 'inline') {
      const batcher = new MicroBatcher((texts) => runner.run(texts), labels.length, {
        maxBatch: opts.maxBatch,
        maxQueue: opts.maxQueue,
        windowUs: opts.batchWindowUs,
        concurrency: 1,
      });
      return new Classifier(dir, kind, labels, opts, batcher, () => runner.close());
    }
    await runner.close();
    const pool = await ClassifierPool.create(dir, runnerOpts, opts.poolThreads);
    try {
      // Warm every worker so the first real request does not pay model loading.
      await Promise.all(Array.from({ length: opts.poolThreads }, () => pool.run(['warm up'])));
    } catch (err) {
      await pool.close();
      throw err;
    }
    const batcher = new MicroBatcher((texts) => pool.run(texts), labels.length, {
      maxBatch: opts.maxBatch,
      maxQueue: opts.maxQueue,
      windowUs: opts.batchWindowUs,
      concurrency: opts.poolThreads,
    });
    return new Classifier(dir, kind, labels, opts, batcher, () => pool.close());
  }

  get mode(): 'inline' | 'pool' {
    return this.options.mode;
  }

  /** Texts waiting for a run, and runs in flight. */
  stats(): { queued: number; running: number } {
    return { queued: this.batcher.queued, running: this.batcher.running };
  }

  /**
   * Classifies texts (strings, or UTF-8 bytes). All are validated first: one bad text
   * fails the call with INVALID_ARGUMENT, field `texts[i]`. If they cannot all be
   * queued the call fails with OVERLOADED and none is run.
   */
  async classify(texts: readonly TextInput[]): Promise<Classification[]> {
    if (this.closed) throw new ColoError('SHUTTING_DOWN', 'classifier is closed');
    if (texts.length === 0) return [];
    const valid = texts.map((t, i) => validateText(t, this.options.maxTextBytes, `texts[${i}]`));
    if (this.batcher.queued + valid.length > this.options.maxQueue) {
      throw new ColoError('OVERLOADED', `classifier queue cannot take ${valid.length} more texts`, {
        retryAfterMs: 1,
      });
    }
    const rows = await Promise.all(valid.map((t) => this.batcher.submit(t)));
    return rows.map((row) => this.toClassification(row));
  }

  async classifyOne(text: TextInput): Promise<Classification> {
    return (await this.classify([text]))[0] as Classification;
  }

  private toClassification(row: Float32Array): Classification {
    let best = 0;
    for (let c = 1; c < row.length; c++) if ((row[c] as number) > (row[best] as number)) best = c;
    return {
      label: this.labels[best] as string,
      labelIndex: best,
      probs: Array.from(row),
      confidence: row[best] as number,
      escalate: (row[best] as number) < this.options.escalateBelow,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.batcher.close();
    await this.release();
  }
}
