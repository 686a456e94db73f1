/**
 * The load generator's pure parts (no sockets, no processes), unit-tested in
 * test/unit/loadgen-core.test.ts: command-line options, the per-request sample, the
 * aggregate report (total latency, time to first token, inter-token latency,
 * throughput, errors by code), and reading one OpenAI SSE payload.
 *
 * Where a request's clock starts: in open loop at its *scheduled* send time (so a
 * stall anywhere is charged to every request it delays: no coordinated omission), in
 * closed loop at its actual send time. TTFT is measured from the same start; the
 * inter-token latency (ITL) is the gap between consecutive token frames of one answer.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { Histogram } from 'hdr-histogram-js';
import { isErrorCode } from '../../src/core/errors';
import { createHistogram, formatSummary, recordNs, summarize, type LatencySummary } from '../lib/hdr';

export type Transport = 'ws' | 'http';
export type LoadMode = 'open' | 'closed';

export interface LoadOptions {
  /** ws://host:port or http://host:port of a running Colo; undefined starts one. */
  url: string | undefined;
  transport: Transport;
  mode: LoadMode;
  /** Open loop: requests per second. */
  rate: number;
  /** Closed loop: concurrent clients. */
  concurrency: number;
  /** Measured requests (warm-up excluded); 0 means bounded by durationMs only. */
  count: number;
  /** Upper bound on the measured phase, ms. */
  durationMs: number;
  /** Requests before measuring. */
  warmup: number;
  /** WebSocket connections the requests are spread over (round robin). */
  connections: number;
  model: string;
  prompt: string;
  maxTokens: number;
  temperature: number;
  stream: boolean;
  /** 0 = the server default. */
  deadlineMs: number;
  /** Only when Colo is started here. */
  modelPath: string;
  threads: number;
  sequences: number;
  /** Result file name under bench/results ('' = derive from transport and mode). */
  name: string;
}

export const LOAD_DEFAULTS: Readonly<Omit<LoadOptions, 'modelPath'>> = Object.freeze({
  url: undefined,
  transport: 'ws',
  mode: 'closed',
  rate: 50,
  concurrency: 1,
  count: 200,
  durationMs: 30_000,
  warmup: 10,
  connections: 1,
  model: 'stories260K',
  prompt: 'Once upon a time',
  maxTokens: 32,
  temperature: 0,
  stream: true,
  deadlineMs: 0,
  threads: 1,
  sequences: 8,
  name: '',
});

export const LOAD_USAGE = `usage: npm run bench:load -- [--url ws://127.0.0.1:8080 | http://127.0.0.1:8080]
  [--transport ws|http] [--mode open|closed] [--rate N/s] [--concurrency N]
  [--count N] [--duration ms] [--warmup N] [--connections N]
  [--model NAME] [--prompt TEXT] [--max-tokens N] [--temperature T] [--no-stream]
  [--deadline-ms N] [--model-path FILE --threads N --sequences N (when no --url)] [--name NAME]`;

/** Thrown for a bad command line; the CLI prints it with the usage. */
export class LoadArgsError extends Error {
  override readonly name = 'LoadArgsError';
}

function num(
  flag: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max)
    throw new LoadArgsError(`--${flag}: expected a number in ${min}..${max}, got "${raw}"`);
  return v;
}

const int = (flag: string, raw: string | undefined, fallback: number, min: number, max?: number): number => {
  const v = num(flag, raw, fallback, min, max);
  if (!Number.isInteger(v)) throw new LoadArgsError(`--${flag}: expected an integer, got "${raw}"`);
  return v;
};

/** Parses and checks the command line. The transport follows the URL scheme unless given. */
export function parseLoadArgs(argv: readonly string[], defaultModelPath: string): LoadOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        transport: { type: 'string' },
        mode: { type: 'string' },
        rate: { type: 'string' },
        concurrency: { type: 'string' },
        count: { type: 'string' },
        duration: { type: 'string' },
        warmup: { type: 'string' },
        connections: { type: 'string' },
        model: { type: 'string' },
        prompt: { type: 'string' },
        'max-tokens': { type: 'string' },
        temperature: { type: 'string' },
        'no-stream': { type: 'boolean' },
        'deadline-ms': { type: 'string' },
        'model-path': { type: 'string' },
        threads: { type: 'string' },
        sequences: { type: 'string' },
        name: { type: 'string' },
      },
    });
  } catch (err) {
    throw new LoadArgsError((err as Error).message);
  }
  const v = parsed.values;
  const d = LOAD_DEFAULTS;
  let url = v.url;
  let transport: Transport | undefined;
  if (url !== undefined) {
    const m = /^(wss?|https?):\/\/[^/\s]+/.exec(url);
    if (!m) throw new LoadArgsError(`--url: expected ws://host:port or http://host:port, got "${url}"`);
    transport = m[1]!.startsWith('ws') ? 'ws' : 'http';
    url = m[0];
  }
  if (v.transport !== undefined) {
    if (v.transport !== 'ws' && v.transport !== 'http')
      throw new LoadArgsError(`--transport: expected ws or http, got "${v.transport}"`);
    if (transport !== undefined && transport !== v.transport)
      throw new LoadArgsError(`--transport ${v.transport} contradicts --url ${url}`);
    transport = v.transport;
  }
  const mode = v.mode ?? d.mode;
  if (mode !== 'open' && mode !== 'closed')
    throw new LoadArgsError(`--mode: expected open or closed, got "${mode}"`);
  const opts: LoadOptions = {
    url,
    transport: transport ?? d.transport,
    mode,
    rate: num('rate', v.rate, d.rate, 0.001, 1e6),
    concurrency: int('concurrency', v.concurrency, d.concurrency, 1, 10_000),
    count: int('count', v.count, d.count, 0),
    durationMs: int('duration', v.duration, d.durationMs, 1),
    warmup: int('warmup', v.warmup, d.warmup, 0),
    connections: int('connections', v.connections, d.connections, 1, 1024),
    model: v.model ?? d.model,
    prompt: v.prompt ?? d.prompt,
    maxTokens: int('max-tokens', v['max-tokens'], d.maxTokens, 1, 1 << 20),
    temperature: num('temperature', v.temperature, d.temperature, 0, 2),
    stream: !v['no-stream'],
    deadlineMs: int('deadline-ms', v['deadline-ms'], d.deadlineMs, 0, 3_600_000),
    modelPath: v['model-path'] ?? defaultModelPath,
    threads: int('threads', v.threads, d.threads, 1, 256),
    sequences: int('sequences', v.sequences, d.sequences, 1, 256),
    name: v.name ?? d.name,
  };
  if (opts.prompt.length === 0) throw new LoadArgsError('--prompt: must not be empty');
  return opts;
}

/** What one request produced, in clock ns (hrtime). */
export interface RequestSample {
  /** Scheduled send time (open loop) or actual send time (closed loop). */
  startNs: number;
  /** Arrival time of each token frame / SSE text chunk, in order. */
  tokenNs: number[];
  /** Arrival time of the final frame (Result, Error, or end of the HTTP body). */
  endNs: number;
  /** From the server's usage; 0 when it sent none. */
  completionTokens: number;
  /** Stable error code when the request failed; undefined on success. */
  error: string | undefined;
  /** The server answered from its response cache (route.cached). */
  cached?: boolean | undefined;
}

export interface LoadReport {
  completed: number;
  errors: number;
  /** Count per error code; transport failures are CLIENT_<what>. */
  errorsByCode: Record<string, number>;
  elapsedMs: number;
  requestsPerSec: number;
  /** Completion tokens of successful requests / elapsed. */
  tokensPerSec: number;
  completionTokens: number;
  /** Successful answers the server took from its response cache: their latency is not inference. */
  cached: number;
  /** Successful requests only. */
  total: LatencySummary;
  /** Streamed successful requests that produced at least one token. */
  ttft: LatencySummary;
  /** Every gap between consecutive tokens of one answer. */
  itl: LatencySummary;
}

/** Collects samples into HDR histograms; `report()` is cheap and may be called once at the end. */
export class LoadStats {
  private readonly totalH: Histogram = createHistogram();
  private readonly ttftH: Histogram = createHistogram();
  private readonly itlH: Histogram = createHistogram();
  private completed = 0;
  private tokens = 0;
  private cached = 0;
  private readonly codes = new Map<string, number>();

  record(s: RequestSample): void {
    if (s.error !== undefined) {
      this.codes.set(s.error, (this.codes.get(s.error) ?? 0) + 1);
      return;
    }
    this.completed++;
    if (s.cached) this.cached++;
    this.tokens += s.completionTokens;
    recordNs(this.totalH, s.endNs - s.startNs);
    const t = s.tokenNs;
    if (t.length > 0) recordNs(this.ttftH, (t[0] as number) - s.startNs);
    for (let i = 1; i < t.length; i++) recordNs(this.itlH, (t[i] as number) - (t[i - 1] as number));
  }

  report(elapsedMs: number): LoadReport {
    const secs = Math.max(elapsedMs, 1e-6) / 1000;
    const errorsByCode = Object.fromEntries([...this.codes.entries()].sort(([a], [b]) => a.localeCompare(b)));
    const errors = [...this.codes.values()].reduce((a, b) => a + b, 0);
    return {
      completed: this.completed,
      errors,
      errorsByCode,
      elapsedMs,
      requestsPerSec: this.completed / secs,
      tokensPerSec: this.tokens / secs,
      completionTokens: this.tokens,
      cached: this.cached,
      total: summarize(this.totalH),
      ttft: summarize(this.ttftH),
      itl: summarize(this.itlH),
    };
  }

  close(): void {
    this.totalH.destroy();
    this.ttftH.destroy();
    this.itlH.destroy();
  }
}

/** Maps anything a request failed with to a stable code for the report. */
export function errorCodeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (isErrorCode(code)) return code;
  if (typeof code === 'string' && code.length > 0) return `CLIENT_${code}`;
  return 'CLIENT_ERROR';
}

/** What one `data:` payload of an OpenAI completions stream says. */
export type SsePayload =
  | { kind: 'done' }
  | { kind: 'text'; text: string }
  | { kind: 'usage'; completionTokens: number }
  | { kind: 'error'; code: string }
  | { kind: 'final'; cached: boolean }
  | { kind: 'other' };

/**
 * Reads one SSE data payload of /v1/completions or /v1/chat/completions: text chunks,
 * the usage chunk (stream_options.include_usage), a mid-stream error event, Colo's
 * final chunk (its `colo` object says whether the answer came from the cache), [DONE].
 */
export function readSsePayload(data: string): SsePayload {
  if (data === '[DONE]') return { kind: 'done' };
  let obj: unknown;
  try {
    obj = JSON.parse(data);
  } catch {
    return { kind: 'error', code: 'CLIENT_BAD_SSE' };
  }
  const o = obj as {
    error?: { code?: unknown };
    usage?: { completion_tokens?: unknown } | null;
    choices?: { text?: unknown; delta?: { content?: unknown } }[];
    colo?: { route?: { cached?: unknown } };
  };
  if (o.error)
    return { kind: 'error', code: typeof o.error.code === 'string' ? o.error.code : 'UPSTREAM_ERROR' };
  if (o.usage && typeof o.usage.completion_tokens === 'number')
    return { kind: 'usage', completionTokens: o.usage.completion_tokens };
  if (o.colo) return { kind: 'final', cached: o.colo.route?.cached === true };
  const c = o.choices?.[0];
  const text = c?.text ?? c?.delta?.content;
  if (typeof text === 'string' && text.length > 0) return { kind: 'text', text };
  return { kind: 'other' };
}

const f = (v: number): string => (v >= 100 ? v.toFixed(0) : v.toFixed(1));

/** The short text summary printed after the JSON. */
export function formatLoadReport(r: LoadReport, header: string): string {
  const errs = Object.entries(r.errorsByCode)
    .map(([c, n]) => `${c} ${n}`)
    .join(', ');
  return [
    header,
    `  ok ${r.completed}${r.cached ? ` (${r.cached} from the response cache)` : ''}, errors ${r.errors}${errs ? ` (${errs})` : ''} in ${f(r.elapsedMs)} ms: ${f(r.requestsPerSec)} req/s, ${f(r.tokensPerSec)} tokens/s`,
    `  total ${formatSummary(r.total)}`,
    `  ttft  ${formatSummary(r.ttft)}`,
    `  itl   ${formatSummary(r.itl)}`,
  ].join('\n');
}

/** The 1-minute load average now (machineInfo() caches its value from its first call). */
export function loadNow(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}
