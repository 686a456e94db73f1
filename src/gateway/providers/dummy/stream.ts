/** Produces the dummy provider's chunks for a behaviour; every wait obeys the cancel signal. */
import { statusFailure } from '../http';
import type { ProviderChunk, UnifiedRequest } from '../types';
import { type DummyBehaviour, echoWords } from './request';
import type { CancelSignal } from '../../../core/cancel';

export async function* generate(
  target: string,
  b: DummyBehaviour,
  req: UnifiedRequest,
  signal: CancelSignal,
): AsyncGenerator<ProviderChunk> {
  if (b.kind === 'error') throw statusFailure(target, b.status, {}, 'dummy error');
  yield { kind: 'open' };
  if (b.kind === 'stall') {
    await waitForAbort(signal);
    return;
  }
  const words = echoWords(req);
  const limit =
    b.kind === 'truncate' ? Math.min(b.after, words.length) : Math.min(req.sampling.maxTokens, words.length);
  const delayMs = b.kind === 'echo' ? b.delayMs : 0;
  for (let i = 0; i < limit; i++) {
    if (delayMs > 0) await sleep(delayMs, signal);
    if (signal.aborted) throw reason(signal);
    yield { kind: 'text', text: words[i]! };
  }
  if (b.kind === 'truncate') return;
  yield { kind: 'usage', promptTokens: words.length, completionTokens: limit };
  yield { kind: 'finish', reason: limit < words.length ? 'length' : 'stop' };
}

function waitForAbort(signal: CancelSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(reason(signal));
    signal.addEventListener('abort', () => reject(reason(signal)), { once: true });
  });
}

/** Waits `ms`, or rejects with the abort reason as soon as `signal` aborts. */
function sleep(ms: number, signal: CancelSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(reason(signal));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(reason(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const reason = (signal: CancelSignal): Error =>
  signal.reason instanceof Error ? signal.reason : new Error('aborted');
