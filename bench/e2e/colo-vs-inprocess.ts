/**
 * Baseline 1: tokens/s and time to first token through Colo over WebSocket
 * (FlatBuffers, a separate server process) against an in-process node-llama-cpp
 * LlamaCompletion on the same model, thread count and sampling, in the same run.
 * The difference is everything Colo adds: worker hop, MessagePort, encoding, socket.
 *
 *   npx tsx bench/e2e/colo-vs-inprocess.ts [--model PATH] [--tokens 128] [--runs 30]
 *
 * Checks the answer first: greedy decoding must give the same text both ways.
 */
import { parseArgs } from 'node:util';
import { getLlama, LlamaCompletion } from 'node-llama-cpp';
import WebSocket from 'ws';
import { decodeServerFrame, encodeRequest } from '../../src/protocol';
import { machineLine, summarizeValues, writeResult, type LatencySummary } from '../lib';
import { DEFAULT_MODEL_PATH, startColoProcess } from './colo-process';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: DEFAULT_MODEL_PATH },
    tokens: { type: 'string', default: '128' },
    runs: { type: 'string', default: '30' },
    prompt: { type: 'string', default: 'Once upon a time' },
    threads: { type: 'string', default: '1' },
  },
});
const TOKENS = Number(values.tokens);
const RUNS = Number(values.runs);
const THREADS = Number(values.threads);
const PROMPT = values.prompt!;

interface Run {
  ttftNs: number;
  /** Last token's arrival, from send. */
  lastNs: number;
  totalNs: number;
  tokens: number;
  text: string;
}

async function inProcess(): Promise<Run[]> {
  const llama = await getLlama({ gpu: false, maxThreads: THREADS, logLevel: 'error' as never });
  const model = await llama.loadModel({ modelPath: values.model! });
  const ctx = await model.createContext({ contextSize: 512, sequences: 1, threads: THREADS });
  const seq = ctx.getSequence();
  const runs: Run[] = [];
  for (let i = 0; i < RUNS + 3; i++) {
    const completion = new LlamaCompletion({ contextSequence: seq });
    await seq.clearHistory();
    let first = 0;
    let last = 0;
    let tokens = 0;
    const t0 = process.hrtime.bigint();
    const text = await completion.generateCompletion(PROMPT, {
      maxTokens: TOKENS,
      temperature: 0,
      onToken: (t) => (tokens += t.length),
      onTextChunk: () => {
        last = Number(process.hrtime.bigint() - t0);
        if (first === 0) first = last;
      },
    });
    const total = Number(process.hrtime.bigint() - t0);
    completion.dispose();
    if (i >= 3) runs.push({ ttftNs: first, lastNs: last, totalNs: total, tokens, text });
  }
  await ctx.dispose();
  await model.dispose();
  await llama.dispose();
  return runs;
}

async function throughColo(): Promise<Run[]> {
  // The response cache would answer repeated temperature-0 prompts without the model.
  const colo = await startColoProcess({
    cache: { enabled: false },
    engine: {
      models: [{ name: 'bench', source: values.model, sequences: 1, threads: THREADS, contextSize: 512 }],
    },
  });
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${colo.port}/v1/ws`);
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    const runs: Run[] = [];
    for (let i = 0; i < RUNS + 3; i++) {
      const run = await new Promise<Run>((res, rej) => {
        let first = 0;
        let last = 0;
        const t0 = process.hrtime.bigint();
        const onMsg = (data: Buffer) => {
          const m = decodeServerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
          if (m.kind === 'token') {
            last = Number(process.hrtime.bigint() - t0);
            if (first === 0) first = last;
          }
          if (m.kind === 'result') {
            ws.off('message', onMsg);
            res({
              ttftNs: first,
              lastNs: last,
              totalNs: Number(process.hrtime.bigint() - t0),
              tokens: m.result.usage.completionTokens,
              text: m.result.text,
            });
          }
          if (m.kind === 'error') rej(m.error);
        };
        ws.on('message', onMsg);
        ws.send(
          encodeRequest({
            id: `b${i}`,
            model: 'bench',
            prompt: PROMPT,
            sampling: { maxTokens: TOKENS, temperature: 0 },
            stream: true,
          }),
        );
      });
      if (i >= 3) runs.push(run);
    }
    ws.close();
    return runs;
  } finally {
    await colo.stop();
  }
}

function stats(runs: Run[]) {
  const ttft = summarizeValues(runs.map((r) => r.ttftNs));
  const tokPerSec = runs.map((r) => (r.tokens / r.totalNs) * 1e9).sort((a, b) => a - b);
  const median = tokPerSec[Math.floor(tokPerSec.length / 2)]!;
  // Decode rate between the first and the last streamed token: what a streaming client sees.
  const decode = runs.map((r) => ((r.tokens - 1) / (r.lastNs - r.ttftNs)) * 1e9).sort((a, b) => a - b);
  return {
    ttftUs: ttft,
    tokensPerSecMedian: median,
    decodeTokensPerSecMedian: decode[Math.floor(decode.length / 2)]!,
    tokens: runs[0]!.tokens,
  };
}

const base = await inProcess();
const colo = await throughColo();
if (base[0]!.text !== colo[0]!.text) {
  console.error('answer check failed: in-process and Colo produced different text at temperature 0');
  console.error({ inProcess: base[0]!.text, colo: colo[0]!.text });
  process.exit(1);
}
const b = stats(base);
const c = stats(colo);
const results = {
  model: values.model,
  tokens: TOKENS,
  runs: RUNS,
  threads: THREADS,
  inProcess: b,
  colo: c,
  tokensPerSecRatio: c.tokensPerSecMedian / b.tokensPerSecMedian,
  decodeRatio: c.decodeTokensPerSecMedian / b.decodeTokensPerSecMedian,
  ttftAddedUsP50: c.ttftUs.p50 - b.ttftUs.p50,
};
const fmt = (s: LatencySummary) => `p50 ${s.p50.toFixed(0)} µs  p99 ${s.p99.toFixed(0)} µs`;
console.log(machineLine());
console.log(
  `model ${values.model}, ${TOKENS} tokens, ${RUNS} runs, threads ${THREADS}, temperature 0 (answers match)`,
);
console.log(
  `in-process  : ${b.tokensPerSecMedian.toFixed(0)} tok/s end to end, ${b.decodeTokensPerSecMedian.toFixed(0)} tok/s decode   ttft ${fmt(b.ttftUs)}`,
);
console.log(
  `colo over ws: ${c.tokensPerSecMedian.toFixed(0)} tok/s end to end, ${c.decodeTokensPerSecMedian.toFixed(0)} tok/s decode   ttft ${fmt(c.ttftUs)}`,
);
console.log(
  `ratio end to end ${(results.tokensPerSecRatio * 100).toFixed(1)}%, decode ${(results.decodeRatio * 100).toFixed(1)}%   ttft added p50 ${results.ttftAddedUsP50.toFixed(0)} µs`,
);
const out = writeResult('colo-vs-inprocess', 'e2e', results);
if (out) console.log(`wrote ${out}`);
