/** Small helpers for gateway tests: a request builder, a recording sink, event capture. */
import diagnostics from 'node:diagnostics_channel';
import { DEFAULT_SAMPLING, type InferenceRequest, type TokenSink } from '../../../src/core/types';
import { CHANNELS } from '../../../src/gateway/events';

let seq = 0;
export function makeRequest(over: Partial<InferenceRequest> = {}): InferenceRequest {
  return {
    id: `req-${++seq}`,
    model: 'm',
    prompt: 'The market is up today',
    sampling: { ...DEFAULT_SAMPLING, maxTokens: 64 },
    deadlineMs: 10_000,
    priority: 0,
    stream: true,
    ...over,
  };
}

export function recordingSink(): TokenSink & { tokens: string[] } {
  const tokens: string[] = [];
  return { tokens, onToken: (t) => void tokens.push(t) };
}

/** Subscribes to every gateway channel until `stop()`; events are kept in order. */
export function captureEvents(): {
  events: { channel: string; message: Record<string, unknown> }[];
  stop(): void;
} {
  const events: { channel: string; message: Record<string, unknown> }[] = [];
  const subs = Object.values(CHANNELS).map((name) => {
    const fn = (message: unknown) =>
      void events.push({ channel: name, message: message as Record<string, unknown> });
    diagnostics.subscribe(name, fn);
    return () => diagnostics.unsubscribe(name, fn);
  });
  return { events, stop: () => subs.forEach((u) => u()) };
}

/** Polls until `cond` holds (state changes driven by timers or sockets), or throws. */
export async function until(cond: () => boolean, what: string, limitMs = 5000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
