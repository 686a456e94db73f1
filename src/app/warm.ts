/**
 * The warmers the network thread runs while it polls (src/core/busy-poll.ts, "Warming"):
 * canned requests through the stages every request goes through before and after the
 * model, so a request that arrives after a quiet spell finds that code hot. Each pass:
 * an OpenAI completion and chat body read as the HTTP routes read them, and a WebSocket
 * request frame decoded and verified as the socket handler does; each validated into a
 * Call by the pipeline's own validator and predicted by the default model's scheduler
 * (a prediction commits nothing); a token chunk and a result frame encoded, an OpenAI
 * answer rendered. No I/O, no metrics, no audit, no state.
 */
import type { BusyPoll } from '../core/busy-poll';
import type { Logger } from '../core/log';
import type { CompletionResult } from '../core/types';
import type { LocalEngine } from '../engine';
import {
  clientDecodeOptions,
  decodeClientFrame,
  encodeRequest,
  ServerFrameEncoder,
  type ProtocolConfig,
} from '../protocol';
import { openAiWarmer } from '../server';
import type { RequestPipeline } from './pipeline';

export function registerWarmers(
  poll: BusyPoll,
  parts: {
    pipeline: RequestPipeline;
    engine: LocalEngine;
    protocol: ProtocolConfig;
    maxFrameBytes: number;
    log: Logger;
  },
): void {
  const model = parts.engine.defaultModel;
  if (model === undefined) return;
  const pool = parts.engine.pool(model);
  const answer: CompletionResult = {
    id: 'warm',
    text: ' there was a little girl',
    finishReason: 'length',
    usage: { promptTokens: 5, completionTokens: 16 },
    route: { kind: 'local', provider: 'local', model, cached: false },
    timings: { queueUs: 10, ttftUs: 1000, totalUs: 9000 },
  };
  const http = openAiWarmer(model, answer);
  const frame = encodeRequest({
    id: 'warm',
    model,
    prompt: 'Once upon a time',
    sampling: { maxTokens: 16, temperature: 0 },
  });
  const decodeOptions = clientDecodeOptions(parts.protocol);
  // Its own encoder: the same code, but never the builder whose view a real frame may be in.
  const encoder = new ServerFrameEncoder();
  const admit = (input: Parameters<RequestPipeline['validate']>[0], api: 'http' | 'ws') => {
    const call = parts.pipeline.validate(input, api, undefined);
    pool?.predict(call, call.receivedAt);
  };
  // A canned request the config refuses (a limit below its 16 tokens…) ends that warmer.
  const failed = (name: string) => (err: unknown) =>
    parts.log.warn(`request-path warmer "${name}" stopped: ${(err as Error)?.message ?? String(err)}`);
  poll.addWarmer('http', () => admit(http(), 'http'), failed('http'));
  poll.addWarmer(
    'ws',
    () => {
      const msg = decodeClientFrame(frame, parts.maxFrameBytes, decodeOptions);
      if (msg.kind === 'request') admit(msg.input, 'ws');
      encoder.tokenChunk('warm', 0, ' upon');
      encoder.result(answer);
    },
    failed('ws'),
  );
}
