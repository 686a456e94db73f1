/**
 * Load generator: drives a running Colo (or starts one, the built dist/cli.js, when no
 * --url is given) over the WebSocket (FlatBuffers) or HTTP (OpenAI /v1/completions,
 * SSE) and reports total latency, time to first token, inter-token latency,
 * throughput and errors by code, as JSON then a short text summary.
 *
 *   npm run bench:load -- --url ws://127.0.0.1:8080 --mode open --rate 200 --duration 10000
 *   node bench/lib/run.mjs bench/e2e/loadgen.ts --transport http --mode closed --concurrency 8
 *
 * Open loop sends at a constant rate and measures from each request's scheduled send
 * time (coordinated-omission corrected); closed loop runs N clients back to back.
 * Checks the answer first: one request must come back as a Result with text.
 * `runLoad` is exported for other benches (concurrency.ts).
 */
import { Pool } from 'undici';
import WebSocket from 'ws';
import { SseParser } from '../../src/gateway/providers/sse';
import { decodeServerFrame, encodeRequest } from '../../src/protocol';
import { hrtimeClock, isMain, machineLine, runClosedLoop, runOpenLoop, writeResult } from '../lib';
import type { ClockNs } from '../lib';
import { DEFAULT_MODEL_PATH, startColoProcess } from './colo-process';
import {
  errorCodeOf,
  formatLoadReport,
  LOAD_USAGE,
  LoadArgsError,
  LoadStats,
  loadNow,
  parseLoadArgs,
  readSsePayload,
  type LoadOptions,
  type LoadReport,
  type RequestSample,
} from './loadgen-core';

/** Sends one request whose clock starts at startNs; resolves with its sample, never rejects. */
type Driver = { send(startNs: number): Promise<RequestSample>; close(): Promise<void> };

interface Pending {
  sample: RequestSample;
  done: (s: RequestSample) => void;
  /** TokenChunk frames are expected; else the Result carries the only text. */
  streamed: boolean;
}

/** One WebSocket connection carrying many requests, matched to replies by id. */
class WsConn {
  private readonly pending = new Map<string, Pending>();
  private next = 0;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => this.onFrame(data));
    ws.on('close', () => {
      for (const p of this.pending.values()) this.finish(p, 'CLIENT_CONNECTION_CLOSED');
      this.pending.clear();
    });
  }

  static open(url: string): Promise<WsConn> {
    return new Promise((res, rej) => {
      const ws = new WebSocket(`${url}/v1/ws`, { perMessageDeflate: false });
      ws.binaryType = 'nodebuffer';
      ws.once('open', () => res(new WsConn(ws)));
      ws.once('error', rej);
    });
  }

  private finish(p: Pending, error: string | undefined): void {
    p.sample.endNs = hrtimeClock();
    p.sample.error = error;
    p.done(p.sample);
  }

  private onFrame(data: Buffer): void {
    const now = hrtimeClock();
    let m;
    try {
      m = decodeServerFrame(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    } catch {
      return; // A frame we cannot read has no id to charge; the request times out at the server deadline.
    }
    if (m.kind === 'token') {
      this.pending.get(m.id)?.sample.tokenNs.push(now);
    } else if (m.kind === 'result') {
      const p = this.pending.get(m.result.id);
      if (!p) return;
      this.pending.delete(m.result.id);
      p.sample.completionTokens = m.result.usage.completionTokens;
      p.sample.cached = m.result.route.cached;
      // A non-streamed answer's first token arrives with its Result.
      if (p.sample.tokenNs.length === 0 && m.result.text.length > 0 && !p.streamed)
        p.sample.tokenNs.push(now);
      this.finish(p, undefined);
    } else if (m.kind === 'error') {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      this.finish(p, m.error.code);
    }
  }

  send(frame: (id: string) => Uint8Array, startNs: number, streamed: boolean): Promise<RequestSample> {
    const id = `l${this.next++}`;
    const sample: RequestSample = { startNs, tokenNs: [], endNs: 0, completionTokens: 0, error: undefined };
    return new Promise((done) => {
      if (this.ws.readyState !== WebSocket.OPEN) {
        sample.endNs = hrtimeClock();
        sample.error = 'CLIENT_CONNECTION_CLOSED';
        return done(sample);
      }
      this.pending.set(id, { sample, done, streamed });
      this.ws.send(frame(id), { binary: true, compress: false });
    });
  }

  close(): Promise<void> {
    return new Promise((r) => {
      if (this.ws.readyState === WebSocket.CLOSED) return r();
      this.ws.once('close', () => r());
      this.ws.close();
    });
  }
}

async function wsDriver(o: LoadOptions, url: string): Promise<Driver> {
  const conns = await Promise.all(Array.from({ length: o.connections }, () => WsConn.open(url)));
  let rr = 0;
  const frame = (id: string) =>
    encodeRequest({
      id,
      model: o.model,
      prompt: o.prompt,
      sampling: { maxTokens: o.maxTokens, temperature: o.temperature },
      stream: o.stream,
      ...(o.deadlineMs ? { deadlineMs: o.deadlineMs } : {}),
    });
  return {
    send: (startNs) => conns[rr++ % conns.length]!.send(frame, startNs, o.stream),
    close: async () => void (await Promise.all(conns.map((c) => c.close()))),
  };
}

async function httpDriver(o: LoadOptions, url: string, connections: number): Promise<Driver> {
  const pool = new Pool(url, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const body = JSON.stringify({
    model: o.model,
    prompt: o.prompt,
    max_tokens: o.maxTokens,
    temperature: o.temperature,
    stream: o.stream,
    ...(o.stream ? { stream_options: { include_usage: true } } : {}),
    ...(o.deadlineMs ? { deadline_ms: o.deadlineMs } : {}),
  });
  const send = async (startNs: number): Promise<RequestSample> => {
    const s: RequestSample = { startNs, tokenNs: [], endNs: 0, completionTokens: 0, error: undefined };
    try {
      const res = await pool.request({
        method: 'POST',
        path: '/v1/completions',
        headers: { 'content-type': 'application/json' },
        body,
      });
      if (res.statusCode !== 200 || !o.stream) {
        const json = (await res.body.json()) as {
          error?: { code?: string };
          usage?: { completion_tokens?: number };
          choices?: { text?: string }[];
          colo?: { route?: { cached?: boolean } };
        };
        s.endNs = hrtimeClock();
        if (json.error)
          s.error = typeof json.error.code === 'string' ? json.error.code : `HTTP_${res.statusCode}`;
        else if (res.statusCode !== 200) s.error = `HTTP_${res.statusCode}`;
        else {
          s.completionTokens = json.usage?.completion_tokens ?? 0;
          s.cached = json.colo?.route?.cached === true;
          if (json.choices?.[0]?.text) s.tokenNs.push(s.endNs);
        }
        return s;
      }
      const parser = new SseParser();
      let done = false;
      for await (const chunk of res.body) {
        const now = hrtimeClock();
        for (const ev of parser.push(chunk as Uint8Array)) {
          const p = readSsePayload(ev.data);
          if (p.kind === 'text') s.tokenNs.push(now);
          else if (p.kind === 'usage') s.completionTokens = p.completionTokens;
          else if (p.kind === 'error') s.error = p.code;
          else if (p.kind === 'final') s.cached = p.cached;
          else if (p.kind === 'done') done = true;
        }
      }
      s.endNs = hrtimeClock();
      if (!done && s.error === undefined) s.error = 'CLIENT_STREAM_TRUNCATED';
    } catch (err) {
      s.endNs = hrtimeClock();
      s.error = errorCodeOf(err);
    }
    return s;
  };
  return { send, close: () => pool.close() };
}

export interface LoadRunResult {
  options: Omit<LoadOptions, 'modelPath'> & { modelPath?: string };
  target: string;
  check: { completionTokens: number; tokenFrames: number };
  report: LoadReport;
  /** Open loop only: the client's own worst lateness against its schedule, µs. */
  maxSendLagUs?: number;
}

/** Runs one load test against `url` (ws:// or http://), checking one answer first. */
export async function runLoad(o: LoadOptions, url: string): Promise<LoadRunResult> {
  const httpConns = o.mode === 'closed' ? o.concurrency : Math.max(16, Math.ceil(o.rate / 10));
  const driver = o.transport === 'ws' ? await wsDriver(o, url) : await httpDriver(o, url, httpConns);
  const stats = new LoadStats();
  try {
    // 1. The answer first: a request must succeed and say something.
    const first = await driver.send(hrtimeClock());
    if (first.error !== undefined)
      throw new Error(`answer check failed: the first request got ${first.error}`);
    if (first.completionTokens < 1)
      throw new Error('answer check failed: the first request produced no tokens');
    const check = { completionTokens: first.completionTokens, tokenFrames: first.tokenNs.length };
    // 2. Warm-up, not recorded.
    for (let i = 0; i < o.warmup; i++) await driver.send(hrtimeClock());
    // 3. Measure.
    let maxSendLagUs: number | undefined;
    let elapsedMs: number;
    if (o.mode === 'closed') {
      const r = await runClosedLoop({
        concurrency: o.concurrency,
        ...(o.count > 0 ? { count: o.count } : {}),
        durationMs: o.durationMs,
        send: async () => stats.record(await driver.send(hrtimeClock())),
      });
      elapsedMs = r.elapsedMs;
    } else {
      // runOpenLoop reads the clock once for its schedule's origin before its first
      // send; capturing that call gives every request its scheduled time.
      let origin: number | undefined;
      const clock: ClockNs = () => {
        const t = hrtimeClock();
        origin ??= t;
        return t;
      };
      const r = await runOpenLoop({
        ratePerSec: o.rate,
        ...(o.count > 0 ? { count: o.count } : {}),
        durationMs: o.durationMs,
        maxInFlight: 4096,
        clock,
        send: async (i) => stats.record(await driver.send((origin as number) + (i * 1e9) / o.rate)),
      });
      elapsedMs = r.elapsedMs;
      maxSendLagUs = r.maxSendLagUs;
    }
    const { modelPath, ...rest } = o;
    return {
      options: o.url === undefined ? { ...rest, modelPath } : rest,
      target: url,
      check,
      report: stats.report(elapsedMs),
      ...(maxSendLagUs !== undefined ? { maxSendLagUs } : {}),
    };
  } finally {
    stats.close();
    await driver.close();
  }
}

/** Starts Colo on the options' model when no URL is given; returns the base URL and a stop. */
export async function targetFor(o: LoadOptions): Promise<{ url: string; stop: () => Promise<void> }> {
  if (o.url !== undefined) return { url: o.url, stop: async () => undefined };
  // The response cache would answer repeated temperature-0 prompts without inference.
  const colo = await startColoProcess({
    cache: { enabled: false },
    engine: {
      models: [
        {
          name: o.model,
          source: o.modelPath,
          sequences: o.sequences,
          threads: o.threads,
          contextSize: 1024,
          maxQueue: 4096,
        },
      ],
    },
  });
  const scheme = o.transport === 'ws' ? 'ws' : 'http';
  return { url: `${scheme}://127.0.0.1:${colo.port}`, stop: colo.stop };
}

if (isMain('loadgen')) {
  let o: LoadOptions;
  try {
    o = parseLoadArgs(process.argv.slice(2), DEFAULT_MODEL_PATH);
  } catch (err) {
    if (!(err instanceof LoadArgsError)) throw err;
    console.error(`${err.message}\n${LOAD_USAGE}`);
    process.exit(2);
  }
  const target = await targetFor(o);
  try {
    const loadavgStart = loadNow();
    const r = await runLoad(o, target.url);
    const name = o.name || `loadgen-${o.transport}-${o.mode}`;
    const path = writeResult(name, 'e2e', { ...r, loadavgStart, loadavgEnd: loadNow() });
    console.log(JSON.stringify(r));
    const shape = o.mode === 'open' ? `open ${o.rate}/s` : `closed c=${o.concurrency}`;
    console.log(
      formatLoadReport(
        r.report,
        `# ${name}: ${o.transport} ${shape}, ${o.model}, max_tokens ${o.maxTokens}, stream ${o.stream}${r.maxSendLagUs !== undefined ? `, send lag max ${r.maxSendLagUs} µs` : ''}\n${machineLine()}`,
      ),
    );
    if (path) console.log(`wrote ${path}`);
  } finally {
    await target.stop();
  }
}
