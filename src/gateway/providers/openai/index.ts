/**
 * OpenAI and every OpenAI-compatible server (vLLM, Ollama, llama-server): chat
 * completions and legacy completions, streamed over SSE or answered in one body.
 */
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
  yield* sseChunks(c, res, (ev, out) => parseEvent(c.target.name, ev, out));
}

export const openaiProvider: Provider = {
  name: 'openai',
  defaultBaseUrl: 'https://api.openai.com/v1',
  needsHttp: true,
  endpoints: ['chat', 'completion'],
  logprobs: true,
  call,
};
