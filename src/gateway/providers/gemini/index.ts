/** Google Gemini API: generateContent, or streamGenerateContent with `alt=sse`. */
import { httpCall } from '../http';
import type { Provider, ProviderCall, ProviderChunk, UnifiedRequest } from '../types';
import { buildRequest } from './request';
import { parseBody, parseEvent } from './stream';

function call(c: ProviderCall, req: UnifiedRequest): AsyncGenerator<ProviderChunk> {
  return httpCall(
    c,
    buildRequest(c.target, req),
    (json) => parseBody(c.target.name, json),
    (ev, out) => {
      parseEvent(c.target.name, ev, out);
      return false;
    },
  );
}

export const geminiProvider: Provider = {
  name: 'gemini',
  defaultBaseUrl: 'https://generativelanguage.googleapis.com/v1beta',
  needsHttp: true,
  endpoints: ['chat'],
  logprobs: true,
  call,
};
