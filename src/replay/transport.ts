/**
 * How replay reaches a classifier. `WsTransport` talks to a running Colo over its
 * WebSocket with the FlatBuffers client codec (src/protocol); `ClassifierTransport`
 * calls an in-process Classifier (offline studies, tests). Both give the same reply shape.
 */
import { WebSocket } from 'undici';
import { ColoError, toColoError } from '../core/errors';
import type { Timings } from '../core/types';
import type { Classifier } from '../classifier/classifier';
import { decodeServerFrame, encodeRequest } from '../protocol/client';
import type { Signal } from '../protocol/signal';

export interface ReplayRequest {
  id: string;
  text: string;
  ticker?: string | undefined;
  /** This attempt's deadline, ms (a retry gets what is left of the first one's); default the transport's. */
  deadlineMs?: number | undefined;
}

export interface ReplayReply {
  signals: Signal[];
  /** Server-side timings when the transport reports them. */
  serverTimings?: Timings | undefined;
}

export interface ReplayTransport {
  send(req: ReplayRequest): Promise<ReplayReply>;
  close(): Promise<void>;
}

/** Maps a classifier label to a signal direction: bearish -1, bullish 1, anything else 0. */
export function directionOf(label: string): -1 | 0 | 1 {
  const l = label.toLowerCase();
  if (l === 'bearish' || l === 'negative') return -1;
  if (l === 'bullish' || l === 'positive') return 1;
  return 0;
}

export class ClassifierTransport implements ReplayTransport {
  constructor(private readonly classifier: Classifier) {}

  async send(req: ReplayRequest): Promise<ReplayReply> {
    const c = await this.classifier.classifyOne(req.text);
    const direction = directionOf(c.label);
    const bull = c.probs[this.classifier.labels.indexOf('bullish')] ?? 0;
    const bear = c.probs[this.classifier.labels.indexOf('bearish')] ?? 0;
    return {
      signals: [
        {
          entity: req.ticker ?? '',
          ticker: req.ticker ?? '',
          direction,
          score: bull - bear,
          confidence: c.confidence,
          label: c.label,
          rationale: '',
          abstain: false,
        },
      ],
    };
  }

  async close(): Promise<void> {}
}

export interface WsTransportOptions {
  /** e.g. ws://127.0.0.1:8080/v1/ws */
  url: string;
  /** Skill to request (the server maps it to a classifier). Default 'sentiment'. */
  skill?: string;
  /** Model name; empty lets the server pick. Default ''. */
  model?: string;
  /** Per-request deadline sent to the server, ms. Default 1000. */
  deadlineMs?: number;
  /** Extra headers (e.g. authorization) for the upgrade request. Default none. */
  headers?: Record<string, string>;
}

interface Waiter {
  resolve: (r: ReplayReply) => void;
  reject: (e: unknown) => void;
}

/** One WebSocket, many requests in flight, matched by id. */
export class WsTransport implements ReplayTransport {
  private readonly waiting = new Map<string, Waiter>();

  private constructor(
    private readonly ws: WebSocket,
    private readonly opts: WsTransportOptions,
  ) {
    ws.addEventListener('message', (ev) => this.onMessage(ev.data));
    ws.addEventListener('close', () =>
      this.failAll(new ColoError('UPSTREAM_UNAVAILABLE', 'replay socket closed')),
    );
  }

  static connect(opts: WsTransportOptions): Promise<WsTransport> {
    // undici's WebSocket: Node 20 has no global WebSocket without a flag.
    const ws = new WebSocket(opts.url, opts.headers ? { headers: opts.headers } : undefined);
    ws.binaryType = 'arraybuffer';
    return new Promise((resolve, reject) => {
      const onError = (): void =>
        reject(new ColoError('UPSTREAM_UNAVAILABLE', `cannot connect to ${opts.url}`));
      ws.addEventListener('error', onError, { once: true });
      ws.addEventListener(
        'open',
        () => {
          ws.removeEventListener('error', onError);
          resolve(new WsTransport(ws, opts));
        },
        { once: true },
      );
    });
  }

  send(req: ReplayRequest): Promise<ReplayReply> {
    const frame = encodeRequest({
      id: req.id,
      prompt: req.text,
      skill: this.opts.skill ?? 'sentiment',
      model: this.opts.model ?? '',
      stream: false,
      deadlineMs: req.deadlineMs ?? this.opts.deadlineMs ?? 1000,
    });
    return new Promise((resolve, reject) => {
      this.waiting.set(req.id, { resolve, reject });
      this.ws.send(frame);
    });
  }

  private onMessage(data: unknown): void {
    if (!(data instanceof ArrayBuffer)) return;
    let msg;
    try {
      msg = decodeServerFrame(new Uint8Array(data));
    } catch (err) {
      this.failAll(toColoError(err));
      return;
    }
    if (msg.kind === 'result') {
      const w = this.waiting.get(msg.result.id);
      if (!w) return;
      this.waiting.delete(msg.result.id);
      w.resolve({ signals: msg.signals, serverTimings: msg.result.timings });
    } else if (msg.kind === 'error') {
      const w = this.waiting.get(msg.id);
      if (!w) return;
      this.waiting.delete(msg.id);
      w.reject(msg.error);
    }
  }

  private failAll(err: unknown): void {
    const all = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of all) w.reject(err);
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.addEventListener('close', () => resolve(), { once: true });
      this.ws.close();
    });
  }
}
