import { describe, expect, it } from 'vitest';
import {
  chatResponse,
  errorBody,
  finalChunk,
  parseChat,
  parseCompletion,
  tokenChunk,
} from '../../src/api/openai';
import { ColoError } from '../../src/core/errors';
import type { CompletionResult } from '../../src/core/types';
import { DEFAULT_CALL_LIMITS, validateCall } from '../../src/api/validate';
import { catalogue, fieldOf } from '../helpers/calls';

const limits = { ...DEFAULT_CALL_LIMITS, maxTokens: 512 };
/** HTTP parsing (types) then the one validator (limits), as the server runs them. */
const call = (parsed: { input: Parameters<typeof validateCall>[0] }) =>
  validateCall(parsed.input, 'http', undefined, limits, catalogue);

describe('OpenAI request parsing', () => {
  it('maps a completion request onto the unified request', () => {
    const parsed = parseCompletion({
      model: 'm',
      prompt: 'hi',
      max_tokens: 7,
      temperature: 0,
      seed: 3,
      stop: '\n',
      stream: true,
      stream_options: { include_usage: true },
    });
    const req = call(parsed);
    expect(req).toMatchObject({ model: 'm', prompt: 'hi', stream: true, deadlineMs: 30_000 });
    expect(req.deadlineAt - req.receivedAt).toBe(30_000);
    expect(req.sampling).toEqual({ maxTokens: 7, temperature: 0, topP: 0.95, seed: 3, stop: ['\n'] });
    expect(req.id).toMatch(/^cmpl-/);
    expect(parsed.includeUsage).toBe(true);
    expect(Object.isFrozen(req)).toBe(true);
  });

  it('maps chat messages, folding developer into system and text parts into content', () => {
    const req = call(
      parseChat({
        model: 'm',
        messages: [
          { role: 'developer', content: 'be terse' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'a' },
              { type: 'text', text: 'b' },
            ],
          },
        ],
      }),
    );
    expect(req.messages).toEqual([
      { role: 'system', content: 'be terse' },
      { role: 'user', content: 'ab' },
    ]);
  });

  it('names the field of every invalid parameter', () => {
    expect(fieldOf(() => call(parseCompletion({ model: 'm', prompt: 'x', temperature: 3 })))).toBe(
      'temperature',
    );
    expect(fieldOf(() => call(parseCompletion({ model: 'm', prompt: 'x', max_tokens: 100000 })))).toBe(
      'max_tokens',
    );
    expect(fieldOf(() => call(parseCompletion({ model: 'm' })))).toBe('prompt');
    expect(fieldOf(() => call(parseChat({ model: 'm', messages: [] })))).toBe('messages');
    expect(fieldOf(() => call(parseCompletion({ model: 'm', prompt: 'x', n: 2 })))).toBe('n');
    expect(fieldOf(() => call(parseCompletion({ model: 'm', prompt: 'x', tools: [{}] })))).toBe('tools');
    expect(fieldOf(() => call(parseCompletion({ model: 'm', prompt: 'x', top_p: 0 })))).toBe('top_p');
    expect(fieldOf(() => call(parseCompletion({ model: 'm', prompt: '' })))).toBe('prompt');
    expect(fieldOf(() => call(parseCompletion({ model: 'm', prompt: 'x', stop: [''] })))).toBe('stop');
  });

  it('clamps a deadline past 24 h instead of overflowing a timer, and refuses an unknown model by name', () => {
    const req = call(parseCompletion({ model: 'm', prompt: 'x', deadline_ms: 4_294_967_295 }));
    expect(req.deadlineAt - req.receivedAt).toBe(24 * 3600 * 1000);
    try {
      call(parseCompletion({ model: 'nope', prompt: 'x' }));
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ code: 'MODEL_NOT_FOUND', field: 'model' });
    }
  });
});

describe('OpenAI responses', () => {
  const r: CompletionResult = {
    id: 'chatcmpl-1',
    text: 'hello',
    finishReason: 'length',
    usage: { promptTokens: 3, completionTokens: 2 },
    route: { kind: 'local', provider: 'local', model: 'm', cached: false },
    timings: { queueUs: 1, ttftUs: 2, totalUs: 3 },
  };
  it('builds a chat completion with usage and Colo timings', () => {
    const body = chatResponse(r);
    expect(body.choices[0]!.message.content).toBe('hello');
    expect(body.choices[0]!.finish_reason).toBe('length');
    expect(body.usage).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    expect(body.colo.timings.total_us).toBe(3);
  });
  it('reports the prompt tokens a local generation found cached as prompt_tokens_details.cached_tokens', () => {
    const body = chatResponse({ ...r, usage: { promptTokens: 300, completionTokens: 2, cachedTokens: 290 } });
    expect(body.usage).toEqual({
      prompt_tokens: 300,
      completion_tokens: 2,
      total_tokens: 302,
      prompt_tokens_details: { cached_tokens: 290 },
    });
  });
  it('starts a chat stream with the assistant role and ends with a finish reason', () => {
    expect((tokenChunk('chat', 'x', 'm', 'a', true).choices[0] as { delta: unknown }).delta).toEqual({
      role: 'assistant',
      content: 'a',
    });
    expect((tokenChunk('chat', 'x', 'm', 'b', false).choices[0] as { delta: unknown }).delta).toEqual({
      content: 'b',
    });
    expect(finalChunk('chat', r).choices[0]).toMatchObject({ finish_reason: 'length', delta: {} });
  });
});

describe('OpenAI error body', () => {
  it('carries the stable code, the field and the OpenAI type of the code', () => {
    expect(errorBody(new ColoError('RATE_LIMITED', 'slow down', { retryAfterMs: 1500 }))).toEqual({
      error: {
        message: 'slow down',
        type: 'rate_limit_error',
        param: null,
        code: 'RATE_LIMITED',
        retry_after_ms: 1500,
      },
    });
    expect(
      errorBody(new ColoError('INVALID_ARGUMENT', 'temperature: too big', { field: 'temperature' })).error,
    ).toMatchObject({
      type: 'invalid_request_error',
      param: 'temperature',
    });
  });
});
