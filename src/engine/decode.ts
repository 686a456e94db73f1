/**
 * The decode loop of one generation, on node-llama-cpp's low-level
 * `sequence.evaluate` generator: the leanest path it offers (LlamaCompletion adds
 * about a third per token on a tiny model: its stream regulator, stop-trigger
 * machinery and repeat-penalty bookkeeping, none of which Colo uses).
 *
 * Per token: one detokenize (src/engine/detok.ts), the stop-string check
 * (src/engine/stop.ts), and a push to the port's outbox (src/engine/outbox.ts).
 * Sampling follows OpenAI semantics: temperature 0 is greedy, no repeat penalty.
 */
import type { LlamaContextSequence, LlamaGrammar, LlamaModel, Token } from 'node-llama-cpp';
import { LlamaGrammarEvaluationState } from 'node-llama-cpp';
import type { SamplingParams, TokenLogprob } from '../core/types';
import type { BatchGate } from './batching';
import type { CancelReason, DecodeStats, WorkerFinish } from './messages';
import { StreamDetokenizer } from './detok';
import { StopDetector } from './stop';
import { keepPrompt, type Donor } from './sequences';

export interface DecodeInput {
  model: LlamaModel;
  seq: LlamaContextSequence;
  gate: BatchGate;
  /** The whole prompt, BOS included. */
  prompt: Token[];
  sampling: SamplingParams;
  maxTokens: number;
  grammar?: LlamaGrammar | undefined;
  evaluationPriority: 1 | 2 | 3 | 4 | 5;
  /** Receives text that is safe to stream now. */
  emit: (text: string) => void;
  /** Record each token's log-probability and this many top alternatives (undefined: off, the lean path). */
  logprobs?: number | undefined;
  /** Read once per token: set by the main thread's cancel message. */
  cancelled: () => CancelReason | undefined;
  /** A busy sequence whose cache holds more of the prompt's start: copied first (src/engine/sequences.ts). */
  donor?: Donor | undefined;
  /** Called once the prompt is evaluated (the first token), or the decode ended before. */
  onEvaluated?: () => void;
}

export interface DecodeOutput {
  finishReason: WorkerFinish;
  completionTokens: number;
  stats: DecodeStats;
}

/** Progress of a decode in flight, readable if it fails half-way (usage on error). */
export interface DecodeProgress {
  completionTokens: number;
  /** Filled when DecodeInput.logprobs is set: one entry per generated token. */
  logprobs?: TokenLogprob[] | undefined;
}

export const FINISH_OF_CANCEL: Record<CancelReason, WorkerFinish> = {
  cancel: 'cancelled',
  deadline: 'deadline',
  preempt: 'preempted',
  shutdown: 'shutdown',
};

export async function decode(d: DecodeInput, progress: DecodeProgress): Promise<DecodeOutput> {
  const { model, seq, gate, sampling } = d;
  // Keep the KV cache of the longest common prefix; at least the last prompt token is
  // evaluated, since its logits give the first sampled token.
  const prompt = d.prompt;
  const toEval = await keepPrompt(gate, seq, prompt, d.donor);

  const detok = new StreamDetokenizer(model, prompt);
  const stopStrings = d.grammar ? [...sampling.stop, '\n\n\n\n'] : sampling.stop;
  const stops = new StopDetector(stopStrings);
  // JSON-schema grammars end in whitespace the answer does not include (node-llama-cpp's
  // trimWhitespaceSuffix): trailing whitespace is held until non-whitespace follows.
  const trim = d.grammar?.trimWhitespaceSuffix ?? false;
  let heldWs = '';
  const out = (text: string) => {
    if (text.length === 0) return;
    if (!trim) return d.emit(text);
    const t = heldWs + text;
    const end = t.trimEnd().length;
    heldWs = t.slice(end);
    if (end > 0) d.emit(t.slice(0, end));
  };

  const evalOpts = {
    temperature: sampling.temperature,
    topP: sampling.topP,
    seed: sampling.seed,
    grammarEvaluationState: d.grammar
      ? new LlamaGrammarEvaluationState({ model, grammar: d.grammar })
      : undefined,
    evaluationPriority: d.evaluationPriority,
  };
  const it =
    d.logprobs === undefined
      ? seq.evaluate(toEval, evalOpts)
      : recordingLogprobs(
          model,
          seq.evaluateWithMetadata(toEval, { probabilities: true }, evalOpts),
          prompt.at(-1)!,
          d.logprobs,
          (progress.logprobs = []),
        );

  let finish: WorkerFinish | undefined;
  // Per batch size b: [b × 3] steps, [b × 3 + 1] their ms, [b × 3 + 2] their contexts summed.
  const byBatch: number[] = [];
  const ctx0 = prompt.length;
  const t0 = performance.now();
  let tFirst = 0;
  let tLast = 0;
  // Whether the step now timing began while another prompt was being evaluated.
  let held = false;
  let begun = 0;
  gate.prefilling();
  let prefilling = true;
  // The prompt is evaluated (its first token came), or the decode ended before.
  const prefilled = () => {
    if (!prefilling) return;
    prefilling = false;
    gate.prefilled();
    d.onEvaluated?.();
  };
  gate.sent();
  let inFlight = true;
  try {
    for (;;) {
      const r = await it.next();
      gate.received();
      inFlight = false;
      if (r.done) {
        finish = 'stop';
        break;
      }
      const now = performance.now();
      if (tFirst === 0) {
        tFirst = now;
        prefilled();
      } else if (!held && gate.prefills === 0 && gate.prefillsBegun === begun) {
        // The step this token took, at the batch it was decoded in (the estimator's table
        // is per batch size: a generation's mean batch blends sizes whose steps differ 2×).
        // Not one that shared its batches with another prompt's evaluation: beside a
        // ~900-token prefill a step took ~400 ms, and taught the pace 4× at once.
        const i = 3 * gate.size;
        byBatch[i] = (byBatch[i] ?? 0) + 1;
        byBatch[i + 1] = (byBatch[i + 1] ?? 0) + now - tLast;
        byBatch[i + 2] = (byBatch[i + 2] ?? 0) + ctx0 + progress.completionTokens;
      }
      tLast = now;
      held = gate.prefills > 0;
      begun = gate.prefillsBegun;
      progress.completionTokens++;
      const text = stops.push(detok.push(r.value));
      out(text);
      const c = d.cancelled();
      if (c) finish = FINISH_OF_CANCEL[c];
      else if (stops.stopped) finish = 'stop';
      else if (progress.completionTokens >= d.maxTokens) finish = 'length';
      if (finish) break;
      // In step with the context's other streams, so their next decodes share a batch.
      const ready = gate.ready();
      if (ready) await ready;
      const passing = gate.pass();
      if (passing) await passing;
      gate.sent();
      inFlight = true;
    }
  } finally {
    if (inFlight) gate.received();
    prefilled();
    await it.return();
  }
  if (finish === 'stop' || finish === 'length') out(stops.push(detok.flush()) + stops.flush());
  const n = progress.completionTokens;
  return {
    finishReason: finish,
    completionTokens: n,
    stats: {
      prefillTokens: toEval.length,
      prefillMs: tFirst > 0 ? tFirst - t0 : 0,
      decodeMs: tFirst > 0 ? tLast - tFirst : 0,
      steps: stepsByBatch(byBatch),
    },
  };
}

/** The per-batch-size tallies as DecodeStats.steps: [b, steps, ms, context sum] for each b seen. */
function stepsByBatch(byBatch: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < byBatch.length; i += 3)
    if (byBatch[i] !== undefined) out.push(i / 3, byBatch[i]!, byBatch[i + 1]!, byBatch[i + 2]!);
  return out;
}

/**
 * The token stream of `evaluateWithMetadata`, recording each sampled token's
 * log-probability and the `top` most likely alternatives (the distribution sampled from:
 * after temperature, top_p and any grammar). Only requests that ask for logprobs take
 * this path; its cost is the vocabulary-sized probability map per token.
 */
async function* recordingLogprobs(
  model: LlamaModel,
  src: AsyncGenerator<{ token: Token; probabilities: Map<Token, number> }, void, void | Token | Token[]>,
  lastPromptToken: Token,
  top: number,
  out: TokenLogprob[],
): AsyncGenerator<Token, void, void> {
  let prev = lastPromptToken;
  // A token's text in context: SentencePiece drops a leading space of a token decoded alone.
  const text = (t: Token) => {
    const before = model.detokenize([prev]);
    return model.detokenize([prev, t]).slice(before.length);
  };
  try {
    for (;;) {
      const r = await src.next();
      if (r.done) return;
      const { token, probabilities } = r.value;
      const alts: TokenLogprob['top'] = [];
      for (const [t, p] of probabilities) {
        if (alts.length >= top) break;
        alts.push({ token: text(t), logprob: Math.log(p) });
      }
      out.push({ token: text(token), logprob: Math.log(probabilities.get(token) ?? 0), top: alts });
      prev = token;
      yield token;
    }
  } finally {
    await src.return();
  }
}
