import { describe, expect, it } from 'vitest';
import { DEFAULT_SAMPLING } from '../../src/core/types';
import { buildRequest as openaiRequest } from '../../src/gateway/providers/openai/request';
import { buildRequest as geminiRequest } from '../../src/gateway/providers/gemini/request';
import type { ProviderTarget, UnifiedRequest } from '../../src/gateway/providers/types';

const target = (endpoint: 'chat' | 'completion'): ProviderTarget => ({
  name: 't',
  baseUrl: 'http://127.0.0.1:1/v1',
  model: 'm',
  apiKey: undefined,
  headers: {},
  endpoint,
  stream: true,
  streamUsage: true,
});
const schema = { type: 'object', properties: { label: { type: 'string' } }, required: ['label'] };
const req = (responseSchema?: unknown): UnifiedRequest => ({
  prompt: 'x',
  sampling: { ...DEFAULT_SAMPLING },
  responseSchema,
});

describe('structured output for skills on remote providers', () => {
  it('OpenAI chat sends the schema as response_format json_schema', () => {
    const body = openaiRequest(target('chat'), req(schema)).body;
    expect(body.response_format).toEqual({
      type: 'json_schema',
      json_schema: { name: 'colo_output', schema },
    });
  });
  it('OpenAI sends no response_format without a schema, or on the legacy completions endpoint', () => {
    expect(openaiRequest(target('chat'), req()).body.response_format).toBeUndefined();
    expect(openaiRequest(target('completion'), req(schema)).body.response_format).toBeUndefined();
  });
  it('Gemini switches to JSON mode', () => {
    const body = geminiRequest(target('chat'), req(schema)).body as {
      generationConfig: Record<string, unknown>;
    };
    expect(body.generationConfig.responseMimeType).toBe('application/json');
    const plain = geminiRequest(target('chat'), req()).body as { generationConfig: Record<string, unknown> };
    expect(plain.generationConfig.responseMimeType).toBeUndefined();
  });
});
