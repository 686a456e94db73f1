/**
 * Where streaming throughput goes: decode tokens/s (first to last streamed token) of
 * the same greedy 128-token generation (1) in-process, (2) through Colo's engine
 * (Piscina worker, MessagePort) on the main thread, (3) through the WebSocket with
 * client and server in one process. bench/e2e/colo-vs-inprocess.ts adds (4): the
 * server in its own process.
 *
 *   npm run build && npx tsx bench/e2e/streaming-breakdown.ts
 */
import { startTestColo, request } from '../../test/helpers/engine';
import { encodeRequest, decodeServerFrame } from '../../src/protocol';
import WebSocket from 'ws';
import { getLlama, LlamaCompletion } from 'node-llama-cpp';
const med = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
{
  const llama = await getLlama({ gpu: false, maxThreads: 1, logLevel: 'error' as never });
  const model = await llama.loadModel({ modelPath: '/work/shared/models/stories260K.gguf' });
  const ctx = await model.createContext({ contextSize: 512, sequences: 1, threads: 1 });
  const seq = ctx.getSequence();
  const r: number[] = [];
  for (let i = 0; i < 25; i++) {
    const c = new LlamaCompletion({ contextSequence: seq });
    let f = 0,
      l = 0,
      n = 0;
    await c.generateCompletion(model.tokenize('Once upon a time'), {
      maxTokens: 128,
      temperature: 0,
      onToken: (t) => (n += t.length),
      onTextChunk: () => {
        l = performance.now();
        f ||= l;
      },
    });
    c.dispose();
    if (i > 4) r.push(((n - 1) / (l - f)) * 1000);
  }
  console.log('in-process decode tok/s', med(r).toFixed(0));
  await ctx.dispose();
  await model.dispose();
  await llama.dispose();
}
const colo = await startTestColo({ sequences: 1, extra: { cache: { enabled: false } } });
{
  const r: number[] = [];
  for (let i = 0; i < 25; i++) {
    let f = 0,
      l = 0;
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
    if (i > 4) r.push(((res.usage.completionTokens - 1) / (l - f)) * 1000);
  }
  console.log('engine-only decode tok/s', med(r).toFixed(0));
}
{
  const ws = new WebSocket(`ws://127.0.0.1:${colo.port}/v1/ws`);
  await new Promise((r) => ws.once('open', r));
  const r: number[] = [];
  for (let i = 0; i < 25; i++) {
    let f = 0,
      l = 0;
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
    if (i > 4) r.push(((n - 1) / (l - f)) * 1000);
  }
  console.log('ws same-process decode tok/s', med(r).toFixed(0));
  ws.close();
}
await colo.shutdown();
process.exit(0);
