/**
 * Where a stream's time goes, stage by stage, in one process and one run: decode
 * tokens/s (first to last streamed token) and time to first token of the same greedy
 * 128-token generation (1) in-process on `sequence.evaluate` with a 1-sequence context
 * (the floor), (2) through Colo's engine (ModelPool: Piscina worker, MessagePort) on the
 * main thread, (3) through the WebSocket with client and server in this process.
 * bench/e2e/stream-floor.ts adds (4): the server in its own process.
 *
 *   npm run build && npx tsx bench/e2e/streaming-breakdown.ts [--sequences 8] [--rounds 3]
 */
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { getLlama, type Token } from 'node-llama-cpp';
import { startTestColo, request } from '../../test/helpers/engine';
import { tinyModelPath } from '../../test/helpers/models';
import { encodeRequest, decodeServerFrame } from '../../src/protocol';

const { values } = parseArgs({
  options: { sequences: { type: 'string', default: '8' }, rounds: { type: 'string', default: '3' } },
});
const RUNS = 15;
const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
type Sample = { ttftUs: number; tokS: number };
const acc: Record<string, { ttft: number[]; tok: number[] }> = {};
const record = (label: string, s: Sample[]) => {
  acc[label] ??= { ttft: [], tok: [] };
  acc[label].ttft.push(med(s.map((x) => x.ttftUs)));
  acc[label].tok.push(med(s.map((x) => x.tokS)));
};

const llama = await getLlama({ gpu: false, maxThreads: 1, logLevel: 'error' as never });
const model = await llama.loadModel({ modelPath: tinyModelPath() });
const ctx = await model.createContext({ contextSize: 512, sequences: 1, threads: 1 });
const seq = ctx.getSequence();
const prompt = [model.tokens.bos!, ...model.tokenize('Once upon a time')];

async function inProcess(): Promise<Sample[]> {
  const r: Sample[] = [];
  for (let i = 0; i < RUNS; i++) {
    await seq.clearHistory();
    const out: Token[] = [];
    let f = 0;
    let l = 0;
    const t0 = performance.now();
    for await (const tok of seq.evaluate(prompt, { temperature: 0 })) {
      model.detokenize([tok], false, out);
      out.push(tok);
      l = performance.now();
      f ||= l;
      if (out.length >= 128) break;
    }
    r.push({ ttftUs: (f - t0) * 1000, tokS: ((out.length - 1) / (l - f)) * 1000 });
  }
  return r;
}

const colo = await startTestColo({
  sequences: Number(values.sequences),
  extra: { cache: { enabled: false } },
});
async function engineOnly(): Promise<Sample[]> {
  const r: Sample[] = [];
  for (let i = 0; i < RUNS; i++) {
    let f = 0;
    let l = 0;
    const t0 = performance.now();
    const res = await colo.engine.complete(
      request('t' + i, { sampling: { ...request('x').sampling, maxTokens: 128 } }),
      {
        onToken: () => {
          l = performance.now();
          f ||= l;
        },
      },
      new AbortController().signal,
    );
    r.push({ ttftUs: (f - t0) * 1000, tokS: ((res.usage.completionTokens - 1) / (l - f)) * 1000 });
  }
  return r;
}

const ws = new WebSocket(`ws://127.0.0.1:${colo.port}/v1/ws`);
await new Promise((r) => ws.once('open', r));
async function overWs(): Promise<Sample[]> {
  const r: Sample[] = [];
  for (let i = 0; i < RUNS; i++) {
    let f = 0;
    let l = 0;
    const t0 = performance.now();
    const n = await new Promise<number>((res) => {
      const on = (d: Buffer) => {
        const m = decodeServerFrame(new Uint8Array(d));
        if (m.kind === 'token') {
          l = performance.now();
          f ||= l;
        }
        if (m.kind === 'result') {
          ws.off('message', on);
          res(m.result.usage.completionTokens);
        }
      };
      ws.on('message', on);
      ws.send(
        encodeRequest({
          id: 'w' + i,
          model: 'stories260K',
          prompt: 'Once upon a time',
          sampling: { maxTokens: 128, temperature: 0 },
          stream: true,
        }),
      );
    });
    r.push({ ttftUs: (f - t0) * 1000, tokS: ((n - 1) / (l - f)) * 1000 });
  }
  return r;
}

for (let round = 0; round < Number(values.rounds); round++) {
  record('in-process evaluate (1-seq)', await inProcess());
  record(`engine only (sequences ${values.sequences})`, await engineOnly());
  record('ws, same process', await overWs());
}
const floor = acc['in-process evaluate (1-seq)']!;
for (const [label, a] of Object.entries(acc))
  console.log(
    `${label.padEnd(30)} decode ${med(a.tok).toFixed(0).padStart(5)} tok/s (${((med(a.tok) / med(floor.tok)) * 100).toFixed(1)}%)  ttft p50 ${med(a.ttft).toFixed(0)} µs (+${(med(a.ttft) - med(floor.ttft)).toFixed(0)})`,
  );
ws.close();
await colo.shutdown();
process.exit(0);
