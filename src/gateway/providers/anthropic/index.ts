/** Anthropic Messages API, streamed (SSE event types) or answered in one body. */
import { httpCall } from '../http';
import type { Provider, ProviderCall, ProviderChunk, UnifiedRequest } from '../types';
import { buildRequest } from './request';
import { parseBody, parseEvent } from './stream';

function call(c: ProviderCall, req: UnifiedRequest): AsyncGenerator<ProviderChunk> {
  return httpCall(
    c,
    buildRequest(c.target, req),
    (json) => parseBody(c.target.name, json),
    (ev, out) => parseEvent(c.target.name, ev, out),
  );
}

export const anthropicProvider: Provider = {
  name: 'anthropic',
  defaultBaseUrl: 'https://api.anthropic.com/v1',
  needsHttp: true,
  endpoints: ['chat'],
  call,
};
