/**
 * The OpenAI-compatible API as pure translation: request JSON → InferenceRequest
 * (validated, errors name the field) and CompletionResult/tokens → response JSON and
 * SSE chunk objects. Unknown OpenAI fields are ignored, as OpenAI's own API does for
 * most; fields Colo cannot honour (n > 1, logprobs, tools) are refused by name.
 * Colo extensions: `deadline_ms`, `priority` in the body; a `colo` object (route,
 * timings) in the final response or chunk.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ERROR_INFO, invalidArgument, type ColoError } from '../core/errors';
import {
  DEFAULT_SAMPLING,
  type ChatMessage,
  type CompletionResult,
  type FinishReason,
  type InferenceRequest,
} from '../core/types';

export interface ApiLimits {
  maxTokensLimit: number;
  defaultDeadlineMs: number;
}

const stop = z.union([z.string(), z.array(z.string()).max(4)]).optional();

const common = {
  model: z.string().max(256).default(''),
  max_tokens: z.number().int().min(1).optional(),
  max_completion_tokens: z.number().int().min(1).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().gt(0).max(1).optional(),
  seed: z.number().int().min(0).max(0xffffffff).optional(),
  stop,
  stream: z.boolean().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).passthrough().nullish(),
  n: z.literal(1).optional(),
  user: z.string().optional(),
  deadline_ms: z.number().int().min(1).max(3_600_000).optional(),
  priority: z.number().int().min(0).max(255).optional(),
};

const contentPart = z.object({ type: z.literal('text'), text: z.string() });
const message = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: z.union([z.string(), z.array(contentPart)]),
});

export const completionBody = z
  .object({ ...common, prompt: z.union([z.string(), z.array(z.string()).length(1)]) })
  .passthrough();
export const chatBody = z.object({ ...common, messages: z.array(message).min(1).max(1024) }).passthrough();

const UNSUPPORTED = ['logprobs', 'top_logprobs', 'tools', 'functions', 'best_of', 'echo', 'suffix'] as const;

// Ids need uniqueness, not secrecy: a random per-process part plus a counter costs
// a string concat instead of a randomBytes call per request (seen at ~2% of the
// server's main thread under load, bench/e2e/gateway-peer.ts --profile).
const PROCESS_ID = randomBytes(6).toString('base64url');
let counter = 0;

export function newId(prefix: string): string {
  return `${prefix}-${PROCESS_ID}${(counter++).toString(36)}`;
}

function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const r = schema.safeParse(body);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.join('.') || 'body';
    throw invalidArgument(field, issue.message);
  }
  const obj = r.data as Record<string, unknown>;
  for (const k of UNSUPPORTED) {
    if (obj[k] !== undefined && obj[k] !== null && obj[k] !== false)
      throw invalidArgument(k, 'is not supported by Colo');
  }
  return r.data;
}

function toRequest(
  b: z.infer<typeof completionBody> | z.infer<typeof chatBody>,
  limits: ApiLimits,
  id: string,
  input: { prompt?: string; messages?: ChatMessage[] },
): InferenceRequest {
  const maxTokens = b.max_completion_tokens ?? b.max_tokens ?? DEFAULT_SAMPLING.maxTokens;
  if (maxTokens > limits.maxTokensLimit)
    throw invalidArgument(
      b.max_completion_tokens ? 'max_completion_tokens' : 'max_tokens',
      `must be at most ${limits.maxTokensLimit}`,
    );
  return {
    id,
    model: b.model,
    ...input,
    sampling: {
      maxTokens,
      temperature: b.temperature ?? DEFAULT_SAMPLING.temperature,
      topP: b.top_p ?? DEFAULT_SAMPLING.topP,
      seed: b.seed,
      stop: b.stop === undefined ? [] : typeof b.stop === 'string' ? [b.stop] : b.stop,
    },
    deadlineMs: b.deadline_ms ?? limits.defaultDeadlineMs,
    priority: b.priority ?? 0,
    stream: b.stream ?? false,
  };
}

export interface ParsedApiRequest {
  req: InferenceRequest;
  includeUsage: boolean;
}

export function parseCompletion(body: unknown, limits: ApiLimits): ParsedApiRequest {
  const b = parseBody(completionBody, body);
  const prompt = typeof b.prompt === 'string' ? b.prompt : b.prompt[0]!;
  return {
    req: toRequest(b, limits, newId('cmpl'), { prompt }),
    includeUsage: b.stream_options?.include_usage ?? false,
  };
}

export function parseChat(body: unknown, limits: ApiLimits): ParsedApiRequest {
  const b = parseBody(chatBody, body);
  const messages: ChatMessage[] = b.messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
  }));
  return {
    req: toRequest(b, limits, newId('chatcmpl'), { messages }),
    includeUsage: b.stream_options?.include_usage ?? false,
  };
}

const finish = (f: FinishReason): string => (f === 'length' ? 'length' : 'stop');
const created = (): number => Math.floor(Date.now() / 1000);

function usage(r: CompletionResult) {
  const { promptTokens: p, completionTokens: c } = r.usage;
  return { prompt_tokens: p, completion_tokens: c, total_tokens: p + c };
}

function colo(r: CompletionResult) {
  return {
    route: r.route,
    timings: { queue_us: r.timings.queueUs, ttft_us: r.timings.ttftUs, total_us: r.timings.totalUs },
  };
}

export function completionResponse(r: CompletionResult) {
  return {
    id: r.id,
    object: 'text_completion',
    created: created(),
    model: r.route.model,
    choices: [{ index: 0, text: r.text, logprobs: null, finish_reason: finish(r.finishReason) }],
    usage: usage(r),
    colo: colo(r),
  };
}

export function chatResponse(r: CompletionResult) {
  return {
    id: r.id,
    object: 'chat.completion',
    created: created(),
    model: r.route.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: r.text, refusal: null },
        logprobs: null,
        finish_reason: finish(r.finishReason),
      },
    ],
    usage: usage(r),
    colo: colo(r),
  };
}

/** SSE chunk objects; `kind` picks the completions or chat shape. */
export function tokenChunk(
  kind: 'completion' | 'chat',
  id: string,
  model: string,
  text: string,
  first: boolean,
) {
  if (kind === 'completion') {
    return {
      id,
      object: 'text_completion',
      created: created(),
      model,
      choices: [{ index: 0, text, logprobs: null, finish_reason: null }],
    };
  }
  const delta = first ? { role: 'assistant', content: text } : { content: text };
  return {
    id,
    object: 'chat.completion.chunk',
    created: created(),
    model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: null }],
  };
}

export function finalChunk(kind: 'completion' | 'chat', r: CompletionResult) {
  const base = tokenChunk(kind, r.id, r.route.model, '', false);
  const choice = base.choices[0] as Record<string, unknown>;
  choice.finish_reason = finish(r.finishReason);
  if (kind === 'chat') choice.delta = {};
  return { ...base, colo: colo(r) };
}

export function usageChunk(kind: 'completion' | 'chat', r: CompletionResult) {
  const base = tokenChunk(kind, r.id, r.route.model, '', false);
  return { ...base, choices: [], usage: usage(r) };
}

/** OpenAI-style error body; `type` follows the error code's mapping in src/core/errors. */
export function errorBody(e: ColoError) {
  return {
    error: {
      message: e.message,
      type: ERROR_INFO[e.code].type,
      param: e.field ?? null,
      code: e.code,
      ...(e.retryAfterMs !== undefined ? { retry_after_ms: e.retryAfterMs } : {}),
    },
  };
}

export function modelsList(models: { id: string; ownedBy: string }[]) {
  return {
    object: 'list',
    data: models.map((m) => ({ id: m.id, object: 'model', created: 0, owned_by: m.ownedBy })),
  };
}
