/**
 * Runner for Hugging Face-style ONNX text classifiers: tokenizer.json (WordPiece, BPE,
 * Unigram... via @huggingface/tokenizers, pure JS, offline) + model.onnx taking
 * input_ids / attention_mask (/ token_type_ids) and giving logits [B, C]. Softmax is
 * applied here, so probabilities match the hashed runner's output.
 */
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import {
  LABELS_FILE,
  MODEL_FILE,
  TOKENIZER_FILE,
  exists,
  loadFailed,
  readJson,
  readLabels,
} from './modelDir';
import type { ClassifierRunner, RunnerOptions } from './runner';
import { openSession, ort, outputLastDim } from './session';

const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';

export class HfRunner implements ClassifierRunner {
  readonly kind = 'hf' as const;
  private closed = false;
  private readonly output: string;
  private readonly wantsTypeIds: boolean;

  private constructor(
    readonly labels: readonly string[],
    private readonly tokenizer: Tokenizer,
    private readonly session: ort.InferenceSession,
    private readonly maxTokens: number,
    private readonly padId: number,
  ) {
    this.output = session.outputNames.includes('logits') ? 'logits' : (session.outputNames[0] as string);
    this.wantsTypeIds = session.inputNames.includes('token_type_ids');
  }

  static async load(dir: string, opts: RunnerOptions = {}): Promise<HfRunner> {
    const tokPath = join(dir, TOKENIZER_FILE);
    const cfgPath = join(dir, TOKENIZER_CONFIG_FILE);
    const tokJson = await readJson(tokPath);
    const tokCfg = (await exists(cfgPath)) ? await readJson(cfgPath) : {};
    let tokenizer: Tokenizer;
    try {
      tokenizer = new Tokenizer(tokJson as object, tokCfg as object);
      tokenizer.encode('probe');
    } catch (err) {
      throw loadFailed(
        tokPath,
        `not a usable tokenizer (${err instanceof Error ? err.message : String(err)})`,
        err,
      );
    }
    const labels = await readLabels(dir);
    const modelPath = join(dir, MODEL_FILE);
    const session = await openSession(modelPath, opts);
    try {
      for (const name of ['input_ids', 'attention_mask']) {
        if (!session.inputNames.includes(name)) throw loadFailed(modelPath, `has no input named ${name}`);
      }
      const padToken = (tokCfg as { pad_token?: unknown }).pad_token;
      const padId = (typeof padToken === 'string' ? tokenizer.token_to_id(padToken) : undefined) ?? 0;
      const runner = new HfRunner(labels, tokenizer, session, opts.maxTokens ?? 128, padId);
      const dim = outputLastDim(session, runner.output);
      const probe = dim ?? (await runner.run(['warm up'])).length;
      if (probe !== labels.length) {
        throw loadFailed(modelPath, `outputs ${probe} classes but ${LABELS_FILE} names ${labels.length}`);
      }
      if (dim !== undefined) await runner.run(['warm up']);
      return runner;
    } catch (err) {
      await session.release();
      throw err;
    }
  }

  private encode(text: string): number[] {
    const ids = this.tokenizer.encode(text).ids;
    if (ids.length <= this.maxTokens) return ids;
    // Keep the closing special token (e.g. [SEP]) the model was trained to see.
    const cut = ids.slice(0, this.maxTokens);
    cut[this.maxTokens - 1] = ids[ids.length - 1] as number;
    return cut;
  }

  async run(texts: readonly string[]): Promise<Float32Array> {
    const encoded = texts.map((t) => this.encode(t));
    const B = encoded.length;
    const T = Math.max(1, ...encoded.map((e) => e.length));
    const ids = new BigInt64Array(B * T).fill(BigInt(this.padId));
    const mask = new BigInt64Array(B * T);
    for (let b = 0; b < B; b++) {
      const e = encoded[b]!;
      for (let t = 0; t < e.length; t++) {
        ids[b * T + t] = BigInt(e[t]!);
        mask[b * T + t] = 1n;
      }
    }
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', ids, [B, T]),
      attention_mask: new ort.Tensor('int64', mask, [B, T]),
    };
    if (this.wantsTypeIds) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(B * T), [B, T]);
    const out = await this.session.run(feeds);
    const logits = Float32Array.from(out[this.output]!.data as Float32Array);
    const C = logits.length / B;
    for (let b = 0; b < B; b++) softmaxRow(logits, b * C, C);
    return logits;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.session.release();
  }
}

function softmaxRow(x: Float32Array, off: number, n: number): void {
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, x[off + i]!);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(x[off + i]! - max);
    x[off + i] = e;
    sum += e;
  }
  for (let i = 0; i < n; i++) x[off + i] = x[off + i]! / sum;
}
