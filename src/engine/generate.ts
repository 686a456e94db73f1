/**
 * One generation inside a worker: take a free sequence, stream text chunks over the
 * task's port, stop on cancel/deadline from the main thread, and always give the
 * sequence back.
 */
import { LlamaCompletion, type LlamaGrammar, type Token } from 'node-llama-cpp';
import { ColoError, toColoError } from '../core/errors';
import type { CancelReason, GenerateTask, WorkerDone, WorkerFailed, WorkerFinish } from './messages';
import type { LoadedModel } from './load';
import { renderPrompt } from './prompt';
import { StopDetector } from './stop';

/** Ports of generations in progress, so a fatal error can answer every one of them. */
const active = new Set<GenerateTask['port']>();

export function failAllActive(error: WorkerFailed['error']): void {
  const failed: WorkerFailed = { type: 'error', error };
  for (const port of active) port.postMessage(failed);
  active.clear();
}

export async function generate(m: LoadedModel, task: GenerateTask): Promise<void> {
  const { port } = task;
  active.add(port);
  const abort = new AbortController();
  let cancelReason: CancelReason | undefined;
  port.on('message', (reason: CancelReason) => {
    cancelReason ??= reason;
    abort.abort();
  });

  let completionTokens = 0;
  let promptTokens = 0;
  let done: WorkerDone;
  try {
    const input = renderPrompt(m.model, task);
    // LlamaCompletion prepends BOS when the vocabulary asks for it; usage counts what was evaluated.
    promptTokens =
      input.length + (m.model.tokens.shouldPrependBosToken && m.model.tokens.bos !== null ? 1 : 0);
    // The main thread dispatches only when it counts a free sequence, so this holds.
    const seq = m.sequences.acquire(input);
    if (!seq) throw new ColoError('OVERLOADED', 'no free sequence in this worker');
    const completion = new LlamaCompletion({ contextSequence: seq });
    try {
      if (promptTokens + 1 >= m.info.contextSize) {
        throw new ColoError(
          'INVALID_ARGUMENT',
          `prompt is ${promptTokens} tokens; the context holds ${m.info.contextSize}`,
          {
            field: 'prompt',
          },
        );
      }
      const grammar = task.jsonSchema ? await grammarFor(m, task.jsonSchema) : undefined;
      const { sampling } = task;
      const stops = new StopDetector(sampling.stop);
      // Stopping on a stop string ends generation through its own signal, so it is not mistaken for a cancel.
      const stopAbort = new AbortController();
      const signal = AbortSignal.any([abort.signal, stopAbort.signal]);
      const maxTokens = Math.min(sampling.maxTokens, m.info.contextSize - promptTokens - 1);
      const res = await completion.generateCompletionWithMeta(input, {
        maxTokens,
        temperature: sampling.temperature,
        topP: sampling.topP,
        seed: sampling.seed,
        grammar,
        signal,
        stopOnAbortSignal: true,
        evaluationPriority: toEvaluationPriority(task.priority),
        onToken: (tokens: Token[]) => {
          completionTokens += tokens.length;
        },
        onTextChunk: (text: string) => {
          const out = stops.push(text);
          if (out.length > 0) port.postMessage(out);
          if (stops.stopped) stopAbort.abort();
        },
      });
      const rest = stops.flush();
      if (rest.length > 0) port.postMessage(rest);
      // LlamaCompletion stops when its own count of sampled tokens reaches maxTokens, so
      // that count is exact then. Its onToken callback can over-report (seen: 9 tokens
      // reported for 8 generated on the synthetic model), so it is capped by that bound.
      completionTokens =
        res.metadata.stopReason === 'maxTokens' ? maxTokens : Math.min(completionTokens, maxTokens);
      done = {
        type: 'done',
        finishReason: stops.stopped ? 'stop' : finishOf(res.metadata.stopReason, cancelReason),
        promptTokens,
        completionTokens,
      };
    } finally {
      // Free the sequence before saying done: the main thread dispatches the next
      // request the moment it hears, and it must find a free sequence.
      completion.dispose();
      m.sequences.release(seq);
    }
    if (active.delete(port)) port.postMessage(done);
  } catch (err) {
    const failed: WorkerFailed = {
      type: 'error',
      error: cancelReason
        ? { code: cancelReason === 'deadline' ? 'DEADLINE' : 'CANCELLED', message: cancelReason }
        : toColoError(err).toJSON(),
    };
    if (!(err instanceof ColoError) && !cancelReason)
      failed.error.message = `generation failed: ${(err as Error).message}`;
    if (active.delete(port)) port.postMessage(failed);
  }
  // The main thread closes the channel once it has the final message; closing here
  // could drop messages still in flight.
}

function finishOf(stop: string, cancel: CancelReason | undefined): WorkerFinish {
  if (cancel) return cancel === 'deadline' ? 'deadline' : 'cancelled';
  return stop === 'maxTokens' ? 'length' : 'stop';
}

/** node-llama-cpp batches higher evaluation priorities first (1..5). */
function toEvaluationPriority(p: number): 1 | 2 | 3 | 4 | 5 {
  return (Math.min(4, Math.floor(p / 52)) + 1) as 1 | 2 | 3 | 4 | 5;
}

async function grammarFor(m: LoadedModel, schemaText: string): Promise<LlamaGrammar> {
  let g = m.grammars.get(schemaText);
  if (!g) {
    // The API's const generic infers result types from a literal schema; a schema parsed at
    // run time cannot satisfy it, and the output is validated against the schema (src/skills).
    g = m.llama.createGrammarForJsonSchema(JSON.parse(schemaText) as never);
    m.grammars.set(schemaText, g);
  }
  return (await g) as LlamaGrammar;
}
