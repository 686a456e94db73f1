/** Anthropic Messages API, streamed (SSE event types) or answered in one body. */
import { postJson, readJsonBody, responseEvents } from '../http';
import type { Provider, ProviderCall, ProviderChunk, UnifiedRequest } from '../types';
import { buildRequest } from './request';
import { parseBody, parseEvent } from './stream';

async function* call(c: ProviderCall, req: UnifiedRequest): AsyncGenerator<ProviderChunk> {
  const { path, headers, body } = buildRequest(c.target, req);
  const res = await postJson(c, path, headers, body);
  yield { kind: 'open' };
  if (!c.target.stream) {
    yield* parseBody(c.target.name, await readJsonBody(c, res));
    return;
  }
  const out: ProviderChunk[] = [];
  let done = false;
  // Keep reading after message_stop until the body ends, so the connection is reused.
  for await (const ev of responseEvents(c, res)) {
    if (done) continue;
    done = parseEvent(c.target.name, ev, out);
    for (let i = 0; i < out.length; i++) yield out[i]!;
    out.length = 0;
  }
}

export const anthropicProvider: Provider = {
  name: 'anthropic',
  defaultBaseUrl: 'https://api.anthropic.com/v1',
  needsHttp: true,
  endpoints: ['chat'],
  call,
};
