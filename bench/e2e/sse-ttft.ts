/**
 * Time to first token and decode rate over HTTP SSE from three clients against one Colo
 * server, in one run, alternated per request: Node's fetch (what `stream-floor.ts --sse` uses), a raw
 * keep-alive socket (`node:net`: the request written by hand, the first chunk carrying
 * text timed), and the WebSocket (`ws`, FlatBuffers) for reference. It separates what
 * the client library costs from what Colo's HTTP path costs.
 *
 *   npm run build && node bench/lib/run.mjs bench/e2e/sse-ttft.ts [--rounds 3] [--runs 40] [--tokens 128]
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
    tokens: { type: 'string', default: '128' },
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
  stream_options: { include_usage: true },
});
/** Whether `s` holds an event carrying generated text (not the final chunk's empty text). */
function hasText(s: string): boolean {
  for (let i = s.indexOf('"text":"'); i >= 0; i = s.indexOf('"text":"', i + 8))
    if (s[i + 8] !== '"') return true;
  return false;
}
/** The usage chunk's completion tokens (`stream_options.include_usage`). */
const completionTokens = (all: string) => Number(/"completion_tokens":(\d+)/.exec(all)?.[1] ?? 0);

interface Run {
  /** µs to the first chunk carrying text. */
  ttft: number;
  /** Tokens after the first (the usage's count), per second between the first and the last text. */
  tokS: number;
}
const run = (t0: number, first: number, last: number, tokens: number): Run => ({
  ttft: (first - t0) * 1000,
  tokS: tokens > 1 && last > first ? ((tokens - 1) * 1000) / (last - first) : 0,
});

async function viaFetch(): Promise<Run> {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  if (!res.ok || !res.body) throw new Error(`SSE ${res.status}`);
  let first = 0;
  let last = 0;
  let all = '';
  const dec = new TextDecoder();
  for await (const b of res.body) {
    const s = dec.decode(b, { stream: true });
    all += s;
    if (!hasText(s)) continue;
    last = performance.now();
    if (!first) first = last;
  }
  return run(t0, first, last, completionTokens(all));
}

const sock = connect(port, '127.0.0.1');
sock.setNoDelay(true);
await new Promise((r) => sock.once('connect', r));
let onData: ((d: Buffer) => void) | null = null;
sock.on('data', (d: Buffer) => onData?.(d));
function viaRaw(): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first = 0;
    let last = 0;
    let acc = '';
    onData = (d) => {
      const s = d.toString();
      acc += s;
      if (hasText(s)) {
        last = performance.now();
        if (!first) first = last;
      }
      // The response is chunked: it ends with the zero-length chunk.
      if (acc.endsWith('0\r\n\r\n')) {
        onData = null;
        if (!acc.startsWith('HTTP/1.1 200') || !acc.includes('data: [DONE]'))
          reject(new Error(acc.slice(0, 200)));
        else resolve(run(t0, first, last, completionTokens(acc)));
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
function viaWs(): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let first = 0;
    let last = 0;
    const onMsg = (data: Buffer) => {
      const m = decodeServerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
      if (m.kind === 'token') {
        last = performance.now();
        if (!first) first = last;
      }
      if (m.kind === 'result') {
        ws.off('message', onMsg);
        resolve(run(t0, first, last, m.result.usage.completionTokens));
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
console.log(`${TOKENS} tokens, greedy; per round, p50 of time to first token (µs) and of decode tokens/s`);
for (let i = 0; i < 30; i++) {
  await viaFetch();
  await viaRaw();
  await viaWs();
}
const CLIENTS = { 'SSE, fetch': viaFetch, 'SSE, raw socket': viaRaw, WebSocket: viaWs } as const;
type Client = keyof typeof CLIENTS;
const rounds: Record<Client, { ttftUs: number; tokS: number }>[] = [];
for (let r = 0; r < Number(values.rounds); r++) {
  const runs = Object.fromEntries(Object.keys(CLIENTS).map((k) => [k, [] as Run[]])) as Record<Client, Run[]>;
  for (let i = 0; i < Number(values.runs); i++)
    for (const [k, fn] of Object.entries(CLIENTS) as [Client, () => Promise<Run>][]) runs[k].push(await fn());
  const row = Object.fromEntries(
    Object.entries(runs).map(([k, rs]) => [
      k,
      { ttftUs: med(rs.map((x) => x.ttft)), tokS: med(rs.map((x) => x.tokS)) },
    ]),
  ) as Record<Client, { ttftUs: number; tokS: number }>;
  rounds.push(row);
  console.log(
    `round ${r}: ` +
      Object.entries(row)
        .map(([k, v]) => `${k} ${v.ttftUs} µs, ${v.tokS} tok/s`)
        .join(' | '),
  );
}
ws.close();
sock.destroy();
await proc.stop();
const out = writeResult('sse-ttft', 'e2e', { tokens: TOKENS, rounds });
if (out) console.log(`wrote ${out}`);
process.exit(0);
