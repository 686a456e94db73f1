/**
 * One generation inside a worker: take a free sequence, run the decode loop
 * (src/engine/decode.ts) streaming text to the request's port on the worker's lane,
 * stop on a CancelReason from the main thread, always give the sequence back (holding
 * its prompt only), and always end with one final message that counts the tokens
 * actually evaluated and generated (the main thread charges them, whatever the ending).
 */
import type { LlamaContextSequence, LlamaGrammar, Token } from 'node-llama-cpp';
import { ColoError, toColoError } from '../core/errors';
import type { GenerateTask, WorkerFailed } from './messages';
import type { RequestPort } from './lane';
import type { LoadedModel } from './load';
import { renderPrompt } from './prompt';
import { decode, FINISH_OF_CANCEL, type DecodeProgress } from './decode';
import { Outbox } from './outbox';
import type { Donor } from './sequences';

export interface Active {
  outbox: Outbox;
  promptTokens: number;
  progress: DecodeProgress;
}

/** Generations in progress, so a fatal error can answer every one of them. */
const active = new Set<Active>();

/** Registers a task (generation or scoring) so a fatal error answers it; returns whether it was still active on removal. */
export const trackActive = (a: Active): void => void active.add(a);
export const untrackActive = (a: Active): boolean => active.delete(a);

export function failAllActive(error: WorkerFailed['error']): void {
  for (const a of active)
    a.outbox.end({
      type: 'error',
      error,
      promptTokens: a.promptTokens,
      completionTokens: a.progress.completionTokens,
    });
  active.clear();
}

export async function generate(m: LoadedModel, task: GenerateTask, port: RequestPort): Promise<void> {
  const input = withBos(m, renderPrompt(m.model, task));
  const progress: DecodeProgress = { completionTokens: 0 };
  const a: Active = {
    outbox: new Outbox(port, input.length, () => progress.logprobs),
    promptTokens: input.length,
    progress,
  };
  active.add(a);
  try {
    if (input.length + 1 >= m.info.contextSize) {
      throw new ColoError(
        'INVALID_ARGUMENT',
        `prompt is ${input.length} tokens; the context holds ${m.info.contextSize}`,
        { field: 'prompt' },
      );
    }
    const grammar = task.jsonSchema ? await grammarFor(m, task.jsonSchema) : undefined;
    // The main thread dispatches only when it counts a free sequence: one is free, or on its way back.
    const seq = await m.sequences.take(input);
    a.outbox.seq = m.sequences.idOf(seq);
    const { donor, waitMs, ended } = await awaitDonor(m, seq, input, port, a);
    if (ended) return;
    m.gate.enter();
    let res: Awaited<ReturnType<typeof decode>>;
    try {
      res = await decode(
        {
          model: m.model,
          seq,
          gate: m.gate,
          prompt: input,
          sampling: task.sampling,
          maxTokens: Math.min(task.sampling.maxTokens, m.info.contextSize - input.length - 1),
          grammar,
          logprobs: task.logprobs,
          evaluationPriority: toEvaluationPriority(task.priority),
          emit: (text) => a.outbox.push(text),
          cancelled: () => port.cancelReason,
          donor,
          onEvaluated: () => m.sequences.evaluated(seq),
        },
        a.progress,
      );
    } catch (err) {
      m.gate.leave();
      void m.sequences.release(seq, input.length - 1);
      throw err;
    }
    // Out of the batch before anything else can throw: counted once on every path.
    m.gate.leave();
    try {
      if (active.delete(a))
        a.outbox.end({
          type: 'done',
          finishReason: res.finishReason,
          promptTokens: input.length,
          completionTokens: res.completionTokens,
          stats: { ...res.stats, seq: a.outbox.seq, waitMs },
          cachedTokens: Math.max(0, input.length - res.stats.prefillTokens),
        });
    } finally {
      // After saying done (the answer is not held for it): the sequence comes back
      // holding the prompt only. A request the main thread sends meanwhile waits for it.
      void m.sequences.release(seq, input.length - 1);
    }
  } catch (err) {
    const error = toColoError(err).toJSON();
    if (!(err instanceof ColoError)) error.message = `generation failed: ${(err as Error).message}`;
    if (active.delete(a))
      a.outbox.end({
        type: 'error',
        error,
        promptTokens: a.promptTokens,
        completionTokens: a.progress.completionTokens,
      });
  }
}

/** The vocabulary may ask for BOS first (LlamaCompletion adds it the same way); usage counts it. */
export function withBos(m: LoadedModel, tokens: Token[]): Token[] {
  const bos = m.model.tokens.bos;
  if (m.model.tokens.shouldPrependBosToken && bos !== null && tokens[0] !== bos) tokens.unshift(bos);
  return tokens;
}

/** node-llama-cpp batches higher evaluation priorities first (1..5). */
export function toEvaluationPriority(p: number): 1 | 2 | 3 | 4 | 5 {
  return (Math.min(4, Math.floor(p / 52)) + 1) as 1 | 2 | 3 | 4 | 5;
}

/** Compiled grammars kept per worker; the oldest is dropped beyond this. */
const MAX_GRAMMARS = 64;

/**
 * The grammar for a JSON Schema, compiled once per schema text. The main thread has
 * already refused schemas the grammar cannot enforce (src/engine/grammar-schema.ts);
 * a compile error left is still the client's schema: INVALID_ARGUMENT naming
 * `response_format`, never INTERNAL, and not cached.
 */
async function grammarFor(m: LoadedModel, schemaText: string): Promise<LlamaGrammar> {
  let g = m.grammars.get(schemaText);
  if (!g) {
    // The API's const generic infers result types from a literal schema; a schema parsed at
    // run time cannot satisfy it, and the output is validated against the schema (src/skills).
    g = Promise.resolve().then(() => m.llama.createGrammarForJsonSchema(JSON.parse(schemaText) as never));
    if (m.grammars.size >= MAX_GRAMMARS) m.grammars.delete(m.grammars.keys().next().value!);
    m.grammars.set(schemaText, g);
  }
  try {
    return (await g) as LlamaGrammar;
  } catch (err) {
    m.grammars.delete(schemaText);
    throw new ColoError(
      'INVALID_ARGUMENT',
      `response_format: the schema cannot be compiled to a grammar: ${(err as Error).message}`,
      { field: 'response_format' },
    );
  }
}

/**
 * The busy sequence whose cache this request copies its prompt's start from
 * (SequencePool.donorFor), waited for, before the request joins the batch (the gate would
 * otherwise hold the donor's steps for it), until the donor's request has evaluated that
 * start. Cancelled or past its deadline meanwhile, the request ends here (`ended`),
 * nothing evaluated: its sequence goes back untouched and is not named (it holds what it
 * held: CacheMirror).
 */
export async function awaitDonor(
  m: LoadedModel,
  seq: LlamaContextSequence,
  input: readonly Token[],
  port: RequestPort,
  a: Active,
): Promise<{ donor?: Donor; waitMs?: number; ended?: true }> {
  const donor = m.sequences.donorFor(seq, input);
  if (!donor?.ready) return { donor };
  const t = performance.now();
  await (port.cancelled ? Promise.race([donor.ready, port.cancelled]) : donor.ready);
  const waitMs = performance.now() - t;
  const cancelled = port.cancelReason;
  if (!cancelled) return { donor, waitMs };
  void m.sequences.release(seq, seq.nextTokenIndex);
  if (active.delete(a))
    a.outbox.end({
      type: 'done',
      finishReason: FINISH_OF_CANCEL[cancelled],
      promptTokens: input.length,
      completionTokens: 0,
      stats: { prefillTokens: 0, prefillMs: 0, decodeMs: 0, steps: [], waitMs },
      cachedTokens: 0,
    });
  return { ended: true };
}
