/**
 * Choice scoring inside a worker (/v1/decide, WebSocket `choices`): nothing is
 * generated. The prompt is evaluated once (its KV-cached prefix reused, as for a
 * generation); each choice's tokens are scored as its continuation, and choices sharing
 * a token prefix share that prefix's evaluation (a depth-first walk of the token trie:
 * evaluate down a branch, erase back to the fork, evaluate the next branch).
 *
 * A choice's log-probability is the sum over its tokens of log softmax(raw logits):
 * llama.cpp returns the logits of the tokens asked for, the max logit and
 * Σ exp(logit − max) (`totalLogitWeight`), so log p(t) = logit(t) − max − ln Σ, without
 * copying the vocabulary across the native boundary. The last token of a choice is never
 * evaluated: only the logits before it are needed, so single-token choices cost the
 * prompt's evaluation and nothing more.
 *
 * Fan-out (`tickers`): each ticker's prompt is the prompt plus a short suffix
 * (src/core/ticker.ts). Their common token prefix is the root of the walk, evaluated
 * once (or reused from the KV cache); each ticker's suffix tokens lead its choices'
 * branches, so the suffix is evaluated once per ticker and only the choices' tokens
 * count toward a choice's log-probability.
 */
import type { ControlledEvaluateInputItem, LlamaContextSequence, Token } from 'node-llama-cpp';
import { ColoError, toColoError } from '../core/errors';
import type { CancelReason, ScoreTask, WorkerFinish } from './messages';
import type { LoadedModel } from './load';
import { renderPrompt } from './prompt';
import { Outbox } from './outbox';
import type { RequestPort } from './lane';
import {
  awaitDonor,
  trackActive,
  untrackActive,
  withBos,
  toEvaluationPriority,
  type Active,
} from './generate';
import { withTicker } from '../core/ticker';
import { keepPrompt, type Donor } from './sequences';
import { FINISH_OF_CANCEL } from './decode';
import {
  commonPrefix,
  continuationText,
  continuationTokens,
  nextTokensByPrefix,
  scoredPrefixes,
  sharedPrefixLength,
  trieOrder,
} from './choices';

/** The next-token distribution after some tokens, restricted to the tokens asked for. */
interface Dist {
  logits: Map<Token, number>;
  max: number;
  lnWeight: number;
}

export async function score(m: LoadedModel, task: ScoreTask, port: RequestPort): Promise<void> {
  // One prompt per ticker (fan-out), or the prompt alone. The walk starts after their
  // common token prefix, evaluated once; each ticker's suffix is a trie branch like a
  // choice's tokens, and only the choices' tokens are scored.
  const variants = task.tickers ? task.tickers.map((t) => withTicker(task, t)) : [task];
  const inputs = variants.map((v) => withBos(m, renderPrompt(m.model, v)));
  const shared = sharedPrefixLength(inputs);
  const input = inputs[0]!.slice(0, shared);
  const a: Active = {
    outbox: new Outbox(port, input.length),
    promptTokens: input.length,
    progress: { completionTokens: 0 },
  };
  trackActive(a);
  try {
    if (shared === 0)
      throw new ColoError('INVALID_ARGUMENT', "the tickers' prompts share no token prefix", {
        field: 'prompt',
      });
    const conts: Token[][] = [];
    const from: number[] = [];
    variants.forEach((v, t) => {
      const suffix = inputs[t]!.slice(shared);
      for (const c of task.choices) {
        conts.push([...suffix, ...choiceTokens(m, v, inputs[t]!, c)]);
        from.push(suffix.length);
      }
    });
    const longest = Math.max(...conts.map((c) => c.length));
    if (input.length + longest >= m.info.contextSize)
      throw new ColoError(
        'INVALID_ARGUMENT',
        `prompt and longest choice are ${input.length + longest} tokens; the context holds ${m.info.contextSize}`,
        { field: 'prompt' },
      );
    const seq = await m.sequences.take(input);
    // As a generation does (generate.ts): the prompt's start copied from a busy sequence.
    const { donor, ended } = await awaitDonor(m, seq, input, port, a);
    if (ended) return;
    m.gate.enter();
    // All of a scoring is prompt evaluation: the steps of streams beside it are not steps.
    m.gate.prefilling();
    const t0 = performance.now();
    let r: Awaited<ReturnType<typeof walk>>;
    try {
      r = await walk(
        m,
        seq,
        input,
        conts,
        from,
        toEvaluationPriority(task.priority),
        () => port.cancelReason,
        () => m.sequences.evaluated(seq),
        donor,
      );
    } catch (err) {
      m.gate.prefilled();
      m.gate.leave();
      void m.sequences.release(seq, input.length - 1);
      throw err;
    }
    // Out of the batch and the sequence back before anything else can throw: once each.
    m.gate.prefilled();
    m.gate.leave();
    void m.sequences.release(seq, input.length - 1);
    // Every trie node below the root is one evaluated token: input the caller is charged for.
    const scored = nextTokensByPrefix(conts).size - 1;
    if (untrackActive(a))
      a.outbox.end({
        type: 'done',
        finishReason: r.cancelled ?? 'stop',
        promptTokens: input.length + scored,
        completionTokens: 0,
        stats: {
          prefillTokens: r.evaluated,
          prefillMs: performance.now() - t0,
          decodeMs: 0,
          steps: [],
          seq: m.sequences.idOf(seq),
        },
        cachedTokens: Math.max(0, input.length - r.promptEvaluated),
        choiceLogprobs: r.cancelled ? undefined : r.logprobs,
      });
  } catch (err) {
    const error = toColoError(err).toJSON();
    if (!(err instanceof ColoError)) error.message = `scoring failed: ${(err as Error).message}`;
    if (untrackActive(a))
      a.outbox.end({ type: 'error', error, promptTokens: a.promptTokens, completionTokens: 0 });
  }
}

/** A choice's tokens after a prompt (src/engine/choices.ts says how it is joined). */
function choiceTokens(
  m: LoadedModel,
  v: { prompt?: string | undefined },
  input: Token[],
  choice: string,
): Token[] {
  // Chat: the choice starts the model's turn, tokenized as a text start.
  if (v.prompt === undefined) return m.model.tokenize(choice);
  const text = continuationText(v.prompt, choice);
  const whole = withBos(m, m.model.tokenize(v.prompt + text));
  const toks = continuationTokens(input, whole, () => m.model.tokenize(text, false, 'trimLeadingSpace'));
  if (toks.length === 0)
    throw new ColoError('INVALID_ARGUMENT', `"${choice}" has no tokens`, { field: 'choices' });
  return toks;
}

async function walk(
  m: LoadedModel,
  seq: LlamaContextSequence,
  prompt: Token[],
  conts: Token[][],
  /** Per continuation, where its scored tokens start (after a ticker's suffix). */
  from: readonly number[],
  evaluationPriority: 1 | 2 | 3 | 4 | 5,
  cancelled: () => CancelReason | undefined,
  /** The prompt is evaluated (before the choices' branches): a request may copy it now. */
  onEvaluated: () => void,
  /** A busy sequence holding more of the prompt's start: copied first (SequencePool.donorFor). */
  donor: Donor | undefined,
): Promise<{ logprobs: number[]; evaluated: number; promptEvaluated: number; cancelled?: WorkerFinish }> {
  const { gate } = m;
  const next = nextTokensByPrefix(conts);
  // Logits only where a scored token follows: not inside a ticker's suffix.
  const scored = scoredPrefixes(conts, from);
  const ask = (prefix: readonly Token[]) => {
    const key = prefix.join(',');
    if (!scored.has(key)) return undefined;
    return {
      generateNext: {
        logits: { filter: { tokens: next.get(key)!, includeMax: true } },
        totalLogitWeight: true,
      },
    };
  };
  const item = (t: Token, prefix: readonly Token[]): ControlledEvaluateInputItem => {
    const a = ask(prefix);
    return a ? [t, a] : t;
  };
  const evaluate = async (items: ControlledEvaluateInputItem[]) => {
    const held = gate.pass();
    if (held) await held;
    gate.sent();
    try {
      return await seq.controlledEvaluate(items, { evaluationPriority });
    } finally {
      gate.received();
    }
  };

  // 1. The prompt: keep the cached prefix, evaluate the rest (at least its last token,
  //    whose logits score every choice's first token).
  const toEval = await keepPrompt(gate, seq, prompt, donor);
  const promptEvaluated = toEval.length;
  const items: ControlledEvaluateInputItem[] = toEval.slice(0, -1);
  items.push(item(toEval.at(-1)!, []));
  const out = await evaluate(items);
  onEvaluated();
  const dists: (Dist | undefined)[] = [scored.has('') ? dist(out[items.length - 1]) : undefined];
  let evaluated = toEval.length;

  // 2. Depth-first over the trie: `path` is what the sequence holds past the prompt.
  const P = prompt.length;
  let path: Token[] = [];
  const logprobs = new Array<number>(conts.length);
  for (const i of trieOrder(conts)) {
    const c = cancelled();
    if (c) return { logprobs, evaluated, promptEvaluated, cancelled: FINISH_OF_CANCEL[c] };
    const cont = conts[i]!;
    const need = cont.slice(0, -1);
    const k = commonPrefix(path, need);
    if (path.length > k) {
      const end = P + path.length;
      await gate.edit(() => seq.eraseContextTokenRanges([{ start: P + k, end }]));
      path = path.slice(0, k);
      dists.length = k + 1;
    }
    if (need.length > k) {
      const branch: ControlledEvaluateInputItem[] = need
        .slice(k)
        .map((t, j) => item(t, need.slice(0, k + j + 1)));
      const res = await evaluate(branch);
      for (let j = 0; j < branch.length; j++) dists.push(Array.isArray(branch[j]) ? dist(res[j]) : undefined);
      evaluated += branch.length;
      path = need;
    }
    let lp = 0;
    for (let d = from[i]!; d < cont.length; d++) lp += logprob(dists[d]!, cont[d]!);
    logprobs[i] = lp;
  }
  return { logprobs, evaluated, promptEvaluated };
}

function dist(out: { next: { logits?: Map<Token, number>; totalLogitWeight?: number } } | undefined): Dist {
  const logits = out?.next.logits;
  const w = out?.next.totalLogitWeight;
  if (!logits || w === undefined || !(w > 0)) throw new Error('the model returned no logits');
  let max = -Infinity;
  for (const v of logits.values()) if (v > max) max = v;
  return { logits, max, lnWeight: Math.log(w) };
}

function logprob(d: Dist, t: Token): number {
  const l = d.logits.get(t);
  if (l === undefined) throw new Error(`no logit for token ${t}`);
  return l - d.max - d.lnWeight;
}
