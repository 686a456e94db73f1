/**
 * The OpenAI-compatible API as pure translation: request JSON → InferenceRequest
 * (validated, errors name the field) and CompletionResult/tokens → response JSON and
 * SSE chunk objects. Unknown OpenAI fields are ignored, as OpenAI's own API does for
 * most; fields Colo cannot honour (n > 1, tools, echo...) are refused by name.
 * `logprobs` (completions: 0..5 alternatives; chat: `logprobs` + `top_logprobs` 0..20)
 * become the call's `logprobs` (top alternatives per token): in the response, or per
 * chunk when streamed (`streamLogprobs`).
 * Colo extensions: `deadline_ms`, `priority` in the body; a `colo` object (route,
 * timings) in the final response or chunk.
 */
import { newId } from '../core/ids';
import { z } from 'zod';
import { ERROR_INFO, invalidArgument, parsedOrInvalid, type ColoError } from '../core/errors';
import type { CallInput } from '../core/call';
import type { ChatMessage, CompletionResult, FinishReason, TokenLogprob, Usage } from '../core/types';

const stop = z.union([z.string(), z.array(z.string())]).optional();

// Types only: ranges and limits are the validator's (src/api/validate.ts), so HTTP and
// WebSocket answer the same invalid request with the same code and field.
const common = {
  model: z.string().default(''),
  max_tokens: z.number().optional(),
  max_completion_tokens: z.number().optional(),
  temperature: z.number().optional(),
  top_p: z.number().optional(),
  seed: z.number().optional(),
  stop,
  stream: z.boolean().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).passthrough().nullish(),
  n: z.literal(1).optional(),
  user: z.string().optional(),
  deadline_ms: z.number().optional(),
  priority: z.number().optional(),
  response_format: z
    .union([
      z.object({ type: z.literal('text') }),
      z.object({ type: z.literal('json_object') }),
      z.object({
        type: z.literal('json_schema'),
        json_schema: z
          .object({ name: z.string().optional(), schema: z.record(z.string(), z.unknown()) })
          .passthrough(),
      }),
    ])
    .optional(),
};

const contentPart = z.object({ type: z.literal('text'), text: z.string() });
export const chatMessage = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: z.union([z.string(), z.array(contentPart)]),
});

export const completionBody = z
  .object({
    ...common,
    prompt: z.union([z.string(), z.array(z.string()).length(1)]),
    // Completions: the number of top alternatives per token (OpenAI allows 0..5).
    logprobs: z.number().nullish(),
  })
  .passthrough();
export const chatBody = z
  .object({
    ...common,
    messages: z.array(chatMessage),
    logprobs: z.boolean().nullish(),
    top_logprobs: z.number().nullish(),
  })
  .passthrough();

const UNSUPPORTED = ['tools', 'functions', 'best_of', 'echo', 'suffix'] as const;

export { newId };

function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  const data = parsedOrInvalid<z.infer<T>>(schema.safeParse(body));
  const obj = data as Record<string, unknown>;
  for (const k of UNSUPPORTED) {
    if (obj[k] !== undefined && obj[k] !== null && obj[k] !== false)
      throw invalidArgument(k, 'is not supported by Colo');
  }
  return data;
}

function toInput(
  b: z.infer<typeof completionBody> | z.infer<typeof chatBody>,
  id: string,
  receivedAt: number,
  input: { prompt?: string; messages?: ChatMessage[] },
  logprobs: number | undefined,
): CallInput {
  const f = b.response_format;
  return {
    id,
    model: b.model,
    ...input,
    max_tokens: b.max_completion_tokens ?? b.max_tokens,
    temperature: b.temperature,
    top_p: b.top_p,
    seed: b.seed,
    stop: b.stop === undefined ? undefined : typeof b.stop === 'string' ? [b.stop] : b.stop,
    deadline_ms: b.deadline_ms,
    priority: b.priority,
    stream: b.stream ?? false,
    response_format:
      f === undefined
        ? undefined
        : f.type === 'json_schema'
          ? { type: 'json_schema', schema: JSON.stringify(f.json_schema.schema) }
          : { type: f.type },
    receivedAt,
    logprobs,
  };
}

/** OpenAI chat messages (developer → system, text parts joined) as Colo's. */
export function toChatMessages(ms: z.infer<typeof chatMessage>[]): ChatMessage[] {
  return ms.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
  }));
}

export interface ParsedApiRequest {
  input: CallInput;
  includeUsage: boolean;
}

export function parseCompletion(body: unknown, receivedAt = performance.now()): ParsedApiRequest {
  const b = parseBody(completionBody, body);
  const prompt = typeof b.prompt === 'string' ? b.prompt : b.prompt[0]!;
  if (b.logprobs != null && b.logprobs > 5) throw invalidArgument('logprobs', 'must be an integer in 0..5');
  return {
    // One literal, not `{ ...toInput(...), logprobs }`: on Node 20 an object spread followed
    // by a key the source lacks survived young-generation GCs (bench/README.md, issue 16).
    input: toInput(b, newId('cmpl'), receivedAt, { prompt }, b.logprobs ?? undefined),
    includeUsage: b.stream_options?.include_usage ?? false,
  };
}

export function parseChat(body: unknown, receivedAt = performance.now()): ParsedApiRequest {
  const b = parseBody(chatBody, body);
  const messages = toChatMessages(b.messages);
  if (b.top_logprobs != null && b.logprobs !== true)
    throw invalidArgument('top_logprobs', 'needs logprobs: true');
  if (
    b.top_logprobs != null &&
    !(Number.isInteger(b.top_logprobs) && b.top_logprobs >= 0 && b.top_logprobs <= 20)
  )
    throw invalidArgument('top_logprobs', 'must be an integer in 0..20');
  const logprobs = b.logprobs === true ? (b.top_logprobs ?? 0) : undefined;
  return {
    input: toInput(b, newId('chatcmpl'), receivedAt, { messages }, logprobs),
    includeUsage: b.stream_options?.include_usage ?? false,
  };
}

const finish = (f: FinishReason): string => (f === 'length' ? 'length' : 'stop');
const created = (): number => Math.floor(Date.now() / 1000);

/** OpenAI's `usage` object, with `prompt_tokens_details.cached_tokens` where known. */
export function usageJson(u: Usage) {
  const { promptTokens: p, completionTokens: c, cachedTokens } = u;
  const out = { prompt_tokens: p, completion_tokens: c, total_tokens: p + c };
  return cachedTokens === undefined
    ? out
    : { ...out, prompt_tokens_details: { cached_tokens: cachedTokens } };
}

const usage = (r: CompletionResult) => usageJson(r.usage);

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
    choices: [
      {
        index: 0,
        text: r.text,
        logprobs: resultLogprobs('completion', r),
        finish_reason: finish(r.finishReason),
      },
    ],
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
        logprobs: resultLogprobs('chat', r),
        finish_reason: finish(r.finishReason),
      },
    ],
    usage: usage(r),
    colo: colo(r),
  };
}

/** `/v1/completions` logprobs, as OpenAI's legacy shape: parallel arrays and text offsets from `at`. */
function completionLogprobs(lps: readonly TokenLogprob[], at = 0) {
  const offsets: number[] = [];
  for (const t of lps) {
    offsets.push(at);
    at += t.token.length;
  }
  return {
    tokens: lps.map((t) => t.token),
    token_logprobs: lps.map((t) => t.logprob),
    top_logprobs: lps.map((t) => Object.fromEntries(t.top.map((a) => [a.token, a.logprob]))),
    text_offset: offsets,
  };
}

const utf8 = (s: string): number[] => [...Buffer.from(s, 'utf8')];

/** `/v1/chat/completions` logprobs: `content`, one entry per token with its UTF-8 bytes. */
function chatLogprobs(lps: readonly TokenLogprob[]) {
  return {
    content: lps.map((t) => ({
      token: t.token,
      logprob: t.logprob,
      bytes: utf8(t.token),
      top_logprobs: t.top.map((a) => ({ token: a.token, logprob: a.logprob, bytes: utf8(a.token) })),
    })),
    refusal: null,
  };
}

const resultLogprobs = (kind: 'completion' | 'chat', r: CompletionResult) =>
  !r.logprobs ? null : kind === 'chat' ? chatLogprobs(r.logprobs) : completionLogprobs(r.logprobs);

export type ChunkLogprobs = ReturnType<typeof completionLogprobs> | ReturnType<typeof chatLogprobs>;

/**
 * A stream's per-chunk logprobs, as OpenAI streams them: each chunk carries the entries
 * of the tokens it completes (chat: `content`; completions: the parallel arrays, with
 * `text_offset` counted from the start of the answer).
 */
export function streamLogprobs(
  kind: 'completion' | 'chat',
): (lps: readonly TokenLogprob[] | undefined) => ChunkLogprobs {
  let at = 0;
  return (lps = []) => {
    if (kind === 'chat') return chatLogprobs(lps);
    const out = completionLogprobs(lps, at);
    for (const t of lps) at += t.token.length;
    return out;
  };
}

/** SSE chunk objects; `kind` picks the completions or chat shape. */
export function tokenChunk(
  kind: 'completion' | 'chat',
  id: string,
  model: string,
  text: string,
  first: boolean,
  logprobs: ChunkLogprobs | null = null,
) {
  if (kind === 'completion') {
    return {
      id,
      object: 'text_completion',
      created: created(),
      model,
      choices: [{ index: 0, text, logprobs, finish_reason: null }],
    };
  }
  const delta = first ? { role: 'assistant', content: text } : { content: text };
  return {
    id,
    object: 'chat.completion.chunk',
    created: created(),
    model,
    choices: [{ index: 0, delta, logprobs, finish_reason: null }],
  };
}

export function finalChunk(kind: 'completion' | 'chat', r: CompletionResult) {
  const base = tokenChunk(kind, r.id, r.route.model, '', false);
  const choice = base.choices[0] as Record<string, unknown>;
  choice.finish_reason = finish(r.finishReason);
  if (kind === 'chat') choice.delta = {};
  return Object.assign(base, { colo: colo(r) });
}

export function usageChunk(kind: 'completion' | 'chat', r: CompletionResult) {
  const base = tokenChunk(kind, r.id, r.route.model, '', false);
  return Object.assign(base, { choices: [], usage: usage(r) });
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
