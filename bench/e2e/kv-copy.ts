/**
 * What a shared start costs a second request: copying a sequence's KV cache
 * (`copyStart`, src/engine/sequences.ts: node-llama-cpp's `_copyStateFromOtherSequence`,
 * llama.cpp's seq_cp) against evaluating the same tokens again, in one process and one
 * run, on an 8-sequence context as Colo's pool makes it. For each prompt length n: seq
 * 0 evaluates n tokens; then, alternated per round, seq 1 copies seq 0's first n tokens
 * (timed), or seq 2 evaluates them (timed: the prefill the copy replaces). Each path then
 * evaluates one more token and `--steps` more, timed apart: what the copy leaves to the
 * next decode (llama.cpp may defer a copy between KV streams to it), and whether later
 * steps on a copied cache cost what they cost on an evaluated one.
 *
 * Models: stories260K (../shared) and the synthetic 0.5B Q4_0 (Qwen2.5-0.5B blocks:
 * 24 layers, 2 KV heads of 64, generated into models/cache by
 * `bench/e2e/synthetic-shapes.ts` or on first use here).
 *
 *   node bench/lib/run.mjs bench/e2e/kv-copy.ts [--models 260k,0.5b] [--lengths 64,256,1024]
 *     [--context 2048,8192] [--rounds 3] [--threads 2] [--steps 4]
 *
 * `--context` is the context size given to node-llama-cpp (per sequence, as Colo's
 * `contextSize`): a copy between sequences that each hold their own KV stream moves
 * that stream's cells, so the copy is timed at two sizes to read whether it scales with
 * the tokens copied or with the context.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { getLlama, type LlamaContextSequence, type Token } from 'node-llama-cpp';
import { resolveModel } from '../../src/models';
import { copyStart } from '../../src/engine/sequences';
import { machineLine, writeResult } from '../lib';
import { DEFAULT_MODEL_PATH, ROOT } from './colo-process';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: '260k,0.5b' },
    lengths: { type: 'string', default: '64,256,1024' },
    context: { type: 'string', default: '2048,8192' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    sequences: { type: 'string', default: '8' },
    /** Steps timed after the first one that follows the prompt. */
    steps: { type: 'string', default: '4' },
  },
});
const THREADS = Number(values.threads);
const ROUNDS = Number(values.rounds);
const LENGTHS = values.lengths!.split(',').map(Number);
const CONTEXTS = values.context!.split(',').map(Number);
const SEQUENCES = Number(values.sequences);
const STEPS = Number(values.steps);
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;

async function modelPath(name: string): Promise<string> {
  if (name === '260k') return DEFAULT_MODEL_PATH;
  const m = await resolveModel(`synthetic:${name}-q4_0`, {
    cacheDir: resolve(ROOT, 'models/cache'),
    offline: true,
  });
  return m.path;
}

const llama = await getLlama({ gpu: false, maxThreads: THREADS, logLevel: 'error' as never });
console.log(machineLine());
console.log(`threads ${THREADS}, ${SEQUENCES} sequences, ${ROUNDS} rounds, medians in ms`);
const rows: Record<string, unknown>[] = [];
for (const name of values.models!.split(',')) {
  const model = await llama.loadModel({ modelPath: await modelPath(name) });
  for (const contextSize of CONTEXTS) {
    const ctx = await model.createContext({
      contextSize,
      sequences: SEQUENCES,
      threads: THREADS,
      flashAttention: false,
    });
    const seqs: LlamaContextSequence[] = Array.from({ length: 3 }, () => ctx.getSequence());
    const [donor, copier, evaluator] = seqs as [
      LlamaContextSequence,
      LlamaContextSequence,
      LlamaContextSequence,
    ];
    const text = 'the market rose after the bank said revenue beat estimates and oil fell '.repeat(400);
    const all = model.tokenize(text);
    const next = all.slice(0, 1) as Token[];
    /** The first step after the prompt, then `--steps` more: [first, mean of the rest] ms. */
    const nextSteps = async (seq: LlamaContextSequence): Promise<[number, number]> => {
      const ms: number[] = [];
      for (let i = 0; i <= STEPS; i++) {
        const t = performance.now();
        await seq.evaluateWithoutGeneratingNewTokens(next);
        ms.push(performance.now() - t);
      }
      return [ms[0]!, ms.slice(1).reduce((a, b) => a + b, 0) / Math.max(1, STEPS)];
    };
    for (const n of LENGTHS) {
      if (n + 2 > contextSize) continue;
      const tokens = all.slice(0, n) as Token[];
      await donor.clearHistory();
      await donor.evaluateWithoutGeneratingNewTokens(tokens);
      const copyMs: number[] = [];
      const copyNextMs: [number, number][] = [];
      const evalMs: number[] = [];
      const evalNextMs: [number, number][] = [];
      let copied = true;
      for (let r = 0; r < ROUNDS; r++) {
        await copier.clearHistory();
        let t = performance.now();
        copied &&= await copyStart(copier, { from: donor, upTo: n });
        copyMs.push(performance.now() - t);
        if (copier.nextTokenIndex !== n)
          throw new Error(`copy left ${copier.nextTokenIndex} tokens, not ${n}`);
        copyNextMs.push(await nextSteps(copier));

        await evaluator.clearHistory();
        t = performance.now();
        await evaluator.evaluateWithoutGeneratingNewTokens(tokens);
        evalMs.push(performance.now() - t);
        evalNextMs.push(await nextSteps(evaluator));
      }
      const row = {
        model: name,
        contextSize,
        tokens: n,
        copied,
        copyMs: med(copyMs),
        evalMs: med(evalMs),
        firstStepAfterCopyMs: med(copyNextMs.map((x) => x[0])),
        firstStepAfterEvalMs: med(evalNextMs.map((x) => x[0])),
        laterStepAfterCopyMs: med(copyNextMs.map((x) => x[1])),
        laterStepAfterEvalMs: med(evalNextMs.map((x) => x[1])),
      };
      rows.push(row);
      console.log(
        `${name.padEnd(5)} ctx ${String(contextSize).padStart(5)}  ${String(n).padStart(5)} tokens: copy ${row.copyMs.toFixed(2)} ms vs evaluate ${row.evalMs.toFixed(1)} ms (${(row.evalMs / row.copyMs).toFixed(0)}x); first step after: copy ${row.firstStepAfterCopyMs.toFixed(2)} vs evaluation ${row.firstStepAfterEvalMs.toFixed(2)} ms, later steps ${row.laterStepAfterCopyMs.toFixed(2)} vs ${row.laterStepAfterEvalMs.toFixed(2)} ms${copied ? '' : ' (COPY FAILED: cleared)'}`,
      );
    }
    await ctx.dispose();
  }
  await model.dispose();
}
const out = writeResult('kv-copy', 'e2e', { threads: THREADS, sequences: SEQUENCES, rows });
if (out) console.log(`wrote ${out}`);
process.exit(0);
