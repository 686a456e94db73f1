/**
 * Time to first token over HTTP SSE from three clients against one Colo server, in one
 * run, alternated per request: Node's fetch (what `stream-floor.ts --sse` uses), a raw
 * keep-alive socket (`node:net`: the request written by hand, the first chunk carrying
 * text timed), and the WebSocket (`ws`, FlatBuffers) for reference. It separates what
 * the client library costs from what Colo's HTTP path costs.
 *
 *   npm run build && node bench/lib/run.mjs bench/e2e/sse-ttft.ts [--rounds 3] [--runs 40] [--tokens 16]
 *
 * The server: a child process, default config but for the response cache (off: it would
 * answer a repeated greedy prompt without the model), stories260K, 8 sequences, 1 thread.
 */
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { decodeServerFrame, encodeRequest } from '../../src/protocol';
import { machineLine, writeResult } from '../lib';
import { DEFAULT_MODEL_PATH, startColoProcess } from './colo-process';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: DEFAULT_MODEL_PATH },
    rounds: { type: 'string', default: '3' },
    runs: { type: 'string', default: '40' },
    tokens: { type: 'string', default: '16' },
  },
});
const TOKENS = Number(values.tokens);
const PROMPT = 'Once upon a time';
const proc = await startColoProcess({
  cache: { enabled: false },
  engine: { models: [{ name: 'bench', source: values.model, sequences: 8, threads: 1, contextSize: 512 }] },
});
const port = proc.port;
const body = JSON.stringify({
  model: 'bench',
  prompt: PROMPT,
  max_tokens: TOKENS,
  temperature: 0,
  stream: true,
});
const hasText = (s: string) => s.includes('"text":"');

async function viaFetch(): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  if (!res.ok || !res.body) throw new Error(`SSE ${res.status}`);
  let first = 0;
  const dec = new TextDecoder();
  for await (const b of res.body) if (!first && hasText(dec.decode(b))) first = performance.now();
  return (first - t0) * 1000;
}

const sock = connect(port, '127.0.0.1');
sock.setNoDelay(true);
await new Promise((r) => sock.once('connect', r));
let onData: ((d: Buffer) => void) | null = null;
sock.on('data', (d: Buffer) => onData?.(d));
function viaRaw(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first = 0;
    let acc = '';
    onData = (d) => {
      const s = d.toString();
      acc += s;
      if (!first && hasText(s)) first = performance.now();
      // The response is chunked: it ends with the zero-length chunk.
      if (acc.endsWith('0\r\n\r\n')) {
        onData = null;
        if (!acc.startsWith('HTTP/1.1 200') || !acc.includes('data: [DONE]'))
          reject(new Error(acc.slice(0, 200)));
        else resolve((first - t0) * 1000);
      }
    };
    sock.write(
      `POST /v1/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  });
}

const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/ws`);
await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
let id = 0;
function viaWs(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first = 0;
    const onMsg = (data: Buffer) => {
      const m = decodeServerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (m.kind === 'token' && !first) first = performance.now();
      if (m.kind === 'result') {
        ws.off('message', onMsg);
        resolve((first - t0) * 1000);
      } else if (m.kind === 'error') {
        ws.off('message', onMsg);
        reject(new Error(m.error.message));
      }
    };
    ws.on('message', onMsg);
    ws.send(
      encodeRequest({
        id: `t${id++}`,
        model: 'bench',
        prompt: PROMPT,
        sampling: { maxTokens: TOKENS, temperature: 0 },
        stream: true,
      }),
    );
  });
}

const med = (a: number[]) => Math.round([...a].sort((x, y) => x - y)[a.length >> 1]!);
console.log(machineLine());
console.log(`${TOKENS} tokens, greedy; time to first token p50 per round, µs`);
for (let i = 0; i < 30; i++) {
  await viaFetch();
  await viaRaw();
  await viaWs();
}
const rounds: { fetch: number; raw: number; ws: number }[] = [];
for (let r = 0; r < Number(values.rounds); r++) {
  const f: number[] = [];
  const s: number[] = [];
  const w: number[] = [];
  for (let i = 0; i < Number(values.runs); i++) {
    f.push(await viaFetch());
    s.push(await viaRaw());
    w.push(await viaWs());
  }
  rounds.push({ fetch: med(f), raw: med(s), ws: med(w) });
  console.log(`round ${r}: SSE with fetch ${med(f)}, SSE with a raw socket ${med(s)}, WebSocket ${med(w)}`);
}
ws.close();
sock.destroy();
await proc.stop();
const out = writeResult('sse-ttft', 'e2e', { tokens: TOKENS, rounds });
if (out) console.log(`wrote ${out}`);
process.exit(0);
