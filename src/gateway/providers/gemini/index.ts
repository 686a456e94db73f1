/** Google Gemini API: generateContent, or streamGenerateContent with `alt=sse`. */
import { postJson, readJsonBody, sseChunks } from '../http';
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
  yield* sseChunks(c, res, (ev, out) => {
    parseEvent(c.target.name, ev, out);
    return false;
  });
}

export const geminiProvider: Provider = {
  name: 'gemini',
  defaultBaseUrl: 'https://generativelanguage.googleapis.com/v1beta',
  needsHttp: true,
  endpoints: ['chat'],
  logprobs: true,
  call,
};
