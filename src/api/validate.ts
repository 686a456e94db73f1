/**
 * The one request validator. HTTP and WebSocket both parse their wire format into a
 * `CallInput` and call `validateCall`, so a request gets the same limits, the same
 * error code and the same `field` whichever transport carried it (tested table-driven
 * in test/integration/call-parity.test.ts). It is synchronous and allocation-light: it
 * runs on the network thread for every request.
 *
 * Order of checks (the first failure wins, so the order is part of the contract):
 *  1. id; 2. target (skill, else model/classifier; unknown → *_NOT_FOUND);
 *  3. input (prompt / messages / inputs, per target kind); 4. sampling;
 *  5. deadline and priority; 6. choices, tickers, response_format.
 */
import { absoluteDeadline } from '../core/deadline';
import type { Call, CallApi, CallInput, CallTarget, ResponseFormat } from '../core/call';
import { ColoError, invalidArgument } from '../core/errors';
import type { Principal } from '../core/routes';
import { DEFAULT_SAMPLING, type ChatMessage, type SamplingParams } from '../core/types';

export interface CallLimits {
  /** Largest max_tokens (server.maxTokensLimit). */
  maxTokens: number;
  maxStopSequences: number;
  /** Longest stop sequence, in characters. */
  maxStopChars: number;
  maxMessages: number;
  /** Texts in one classifier batch. */
  maxInputs: number;
  /** Choices in one scoring request (2..maxChoices). */
  maxChoices: number;
  maxTickers: number;
  /** Longest request id, in characters. */
  maxIdChars: number;
  /** The one default deadline (server.defaultDeadlineMs). */
  defaultDeadlineMs: number;
  /** Skills' own default (skills.defaultDeadlineMs): they run long structured prompts. */
  skillDeadlineMs: number;
}

export const DEFAULT_CALL_LIMITS: Readonly<CallLimits> = Object.freeze({
  maxTokens: 4096,
  maxStopSequences: 16,
  maxStopChars: 256,
  maxMessages: 1024,
  maxInputs: 256,
  maxChoices: 64,
  maxTickers: 64,
  maxIdChars: 128,
  defaultDeadlineMs: 30_000,
  skillDeadlineMs: 10_000,
});

/** What the validator needs to know of the configured names; never a runner. */
export interface Catalogue {
  /** Model used when a request names none ('' when none is configured). */
  readonly defaultModel: string;
  /** 'model' for local models, aliases and remote targets; 'classifier' for ONNX classifiers. */
  kindOf(name: string): 'model' | 'classifier' | undefined;
  /** The model a skill runs on by default, '' for the server default; undefined when no such skill. */
  skillModel(name: string): string | undefined;
}

const MAX_U32 = 0xffffffff;
/** Longest response_format json_schema, as JSON text. */
const MAX_SCHEMA_CHARS = 16_384;

export function validateCall(
  input: CallInput,
  api: CallApi,
  principal: Principal | undefined,
  limits: CallLimits,
  catalogue: Catalogue,
): Call {
  // 1. id
  const id = input.id;
  if (id.length === 0) throw invalidArgument('id', 'must not be empty');
  if (id.length > limits.maxIdChars)
    throw invalidArgument('id', `must be at most ${limits.maxIdChars} characters`);

  // 2. target
  const target = resolveTarget(input, catalogue);

  // 3. input
  const { prompt, messages, inputs } = input;
  if (target.kind === 'classifier') {
    if (messages !== undefined) throw invalidArgument('messages', 'a classifier takes its text in prompt');
    if ((prompt === undefined) === (inputs === undefined))
      throw invalidArgument('prompt', 'set exactly one of prompt and inputs');
    if (inputs !== undefined) checkInputs(inputs, limits);
  } else {
    if (inputs !== undefined) throw invalidArgument('inputs', 'only classifiers take several inputs');
    if (target.kind === 'skill' && messages !== undefined)
      throw invalidArgument('messages', 'a skill request takes its input in prompt');
    if (prompt !== undefined && messages !== undefined)
      throw invalidArgument('prompt', 'set exactly one of prompt and messages');
    if (prompt === undefined && messages === undefined)
      throw invalidArgument('prompt', 'one of prompt and messages is required');
    if (messages !== undefined) checkMessages(messages, limits);
  }
  if (prompt !== undefined && prompt.length === 0) throw invalidArgument('prompt', 'must not be empty');

  // 4. sampling
  const sampling = checkSampling(input, limits);

  // 5. deadline and priority
  const d = input.deadline_ms ?? 0;
  if (!Number.isInteger(d) || d < 0 || d > MAX_U32)
    throw invalidArgument('deadline_ms', 'must be an integer in 0..4294967295 (0: the default)');
  const kindDefault = target.kind === 'skill' ? limits.skillDeadlineMs : limits.defaultDeadlineMs;
  const deadlineAt = absoluteDeadline(input.receivedAt, d, kindDefault);
  const priority = input.priority ?? 0;
  if (!Number.isInteger(priority) || priority < 0 || priority > 255)
    throw invalidArgument('priority', 'must be an integer in 0..255');

  // 6. scoring, fan-out, format
  const choices = input.choices === undefined ? undefined : checkChoices(input.choices, target, limits);
  const tickers =
    input.tickers === undefined ? undefined : checkTickers(input.tickers, target, choices, limits);
  const responseFormat = checkFormat(input.response_format, target, choices);
  const logprobs = input.logprobs;
  if (logprobs !== undefined) {
    if (!Number.isInteger(logprobs) || logprobs < 0 || logprobs > 20)
      throw invalidArgument('logprobs', 'top alternatives must be an integer in 0..20');
    if (target.kind !== 'model') throw invalidArgument('logprobs', 'applies to language models');
    if (choices !== undefined) throw invalidArgument('logprobs', 'cannot be combined with choices');
  }

  const call: Call = {
    id,
    api,
    target,
    principal,
    model: target.kind === 'skill' ? target.model : target.name,
    prompt,
    messages,
    inputs: inputs && Object.freeze(inputs.slice()),
    sampling: Object.freeze(sampling),
    deadlineMs: Math.round(deadlineAt - input.receivedAt),
    deadlineAt,
    priority,
    stream: input.stream ?? false,
    skill: target.kind === 'skill' ? target.name : undefined,
    skillOptions: input.skillOptions,
    receivedAt: input.receivedAt,
    responseFormat,
    responseSchema: responseFormat?.type === 'json_schema' ? responseFormat.schema : undefined,
    choices,
    logprobs,
    tickers,
    tenant: principal?.tenant,
    keyId: principal?.keyId,
  };
  return Object.freeze(call);
}

function resolveTarget(input: CallInput, catalogue: Catalogue): CallTarget {
  if (input.skill !== undefined) {
    const own = catalogue.skillModel(input.skill);
    if (own === undefined)
      throw new ColoError('SKILL_NOT_FOUND', `skill "${input.skill}" is not published`, { field: 'skill' });
    const model = input.model || own || catalogue.defaultModel;
    if (catalogue.kindOf(model) !== 'model')
      throw new ColoError('MODEL_NOT_FOUND', `model "${model}" is not served`, { field: 'model' });
    return {
      kind: 'skill',
      name: input.skill,
      model,
      clientModel: input.model !== '' && input.model !== own,
    };
  }
  const name = input.model || catalogue.defaultModel;
  const kind = name ? catalogue.kindOf(name) : undefined;
  if (kind === undefined)
    throw new ColoError('MODEL_NOT_FOUND', `model "${input.model}" is not served`, { field: 'model' });
  return { kind, name };
}

function checkMessages(messages: readonly ChatMessage[], limits: CallLimits): void {
  if (messages.length === 0) throw invalidArgument('messages', 'must not be empty');
  if (messages.length > limits.maxMessages)
    throw invalidArgument('messages', `at most ${limits.maxMessages} messages`);
}

function checkInputs(inputs: readonly string[], limits: CallLimits): void {
  if (inputs.length === 0) throw invalidArgument('inputs', 'must not be empty');
  if (inputs.length > limits.maxInputs) throw invalidArgument('inputs', `at most ${limits.maxInputs} texts`);
  for (const t of inputs) if (t.length === 0) throw invalidArgument('inputs', 'texts must not be empty');
}

function checkSampling(input: CallInput, limits: CallLimits): SamplingParams {
  const maxTokens = input.max_tokens ?? Math.min(DEFAULT_SAMPLING.maxTokens, limits.maxTokens);
  if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > limits.maxTokens)
    throw invalidArgument('max_tokens', `must be an integer in 1..${limits.maxTokens}`);
  const temperature = input.temperature ?? DEFAULT_SAMPLING.temperature;
  if (!(temperature >= 0 && temperature <= 2)) throw invalidArgument('temperature', 'must be in [0, 2]');
  const topP = input.top_p ?? DEFAULT_SAMPLING.topP;
  if (!(topP > 0 && topP <= 1)) throw invalidArgument('top_p', 'must be in (0, 1]');
  const seed = input.seed;
  if (seed !== undefined && !(Number.isInteger(seed) && seed >= 0 && seed <= MAX_U32))
    throw invalidArgument('seed', 'must be an integer in 0..4294967295');
  const stop = input.stop ?? [];
  if (stop.length > limits.maxStopSequences)
    throw invalidArgument('stop', `at most ${limits.maxStopSequences} stop sequences`);
  for (const s of stop) {
    if (s.length === 0) throw invalidArgument('stop', 'stop sequences must not be empty');
    if (s.length > limits.maxStopChars)
      throw invalidArgument('stop', `stop sequences are at most ${limits.maxStopChars} characters`);
  }
  return { maxTokens, temperature, topP, seed, stop };
}

function checkChoices(choices: readonly string[], target: CallTarget, limits: CallLimits): string[] {
  if (target.kind !== 'model') throw invalidArgument('choices', 'only a language model can score choices');
  if (choices.length < 2 || choices.length > limits.maxChoices)
    throw invalidArgument('choices', `give 2..${limits.maxChoices} choices`);
  const seen = new Set<string>();
  for (const c of choices) {
    if (c.length === 0) throw invalidArgument('choices', 'choices must not be empty');
    if (seen.has(c)) throw invalidArgument('choices', `"${c}" appears twice`);
    seen.add(c);
  }
  return choices.slice();
}

/**
 * A ticker is written into the prompt (src/core/ticker.ts), so it is held to ticker
 * characters: letters, digits and `. - : ^ / = _`, 1..16 of them (BRK.B, 005930.KS,
 * ^GSPC, EUR/USD, CL=F); no spaces or newlines that could steer the prompt.
 */
const TICKER = /^[A-Za-z0-9.\-:^/=_]{1,16}$/;

function checkTickers(
  tickers: readonly string[],
  target: CallTarget,
  choices: readonly string[] | undefined,
  limits: CallLimits,
): string[] {
  if (target.kind === 'classifier')
    throw invalidArgument('tickers', 'a classifier reads the whole text; fan-out needs choices or a skill');
  if (target.kind === 'model' && choices === undefined)
    throw invalidArgument('tickers', 'fan-out on a model needs choices (or a skill that supports tickers)');
  if (tickers.length === 0 || tickers.length > limits.maxTickers)
    throw invalidArgument('tickers', `give 1..${limits.maxTickers} tickers`);
  const seen = new Set<string>();
  for (const t of tickers) {
    if (!TICKER.test(t))
      throw invalidArgument(
        'tickers',
        `"${t.slice(0, 32)}" is not a ticker (1..16 of A-Z a-z 0-9 . - : ^ / = _)`,
      );
    const key = t.toUpperCase();
    if (seen.has(key)) throw invalidArgument('tickers', `"${t}" appears twice`);
    seen.add(key);
  }
  return tickers.slice();
}

function checkFormat(
  f: ResponseFormat | undefined,
  target: CallTarget,
  choices: readonly string[] | undefined,
): ResponseFormat | undefined {
  if (f === undefined || f.type === 'text') return undefined;
  if (target.kind !== 'model')
    throw invalidArgument('response_format', 'applies to language models (skills have their own schema)');
  if (choices !== undefined) throw invalidArgument('response_format', 'cannot be combined with choices');
  if (f.type === 'json_schema') {
    // Bounds a grammar's compile time (with the depth and size bounds of src/engine/grammar-schema.ts).
    if (f.schema.length > MAX_SCHEMA_CHARS)
      throw invalidArgument('response_format', `json_schema.schema is over ${MAX_SCHEMA_CHARS} characters`);
    let schema: unknown;
    try {
      schema = JSON.parse(f.schema);
    } catch {
      throw invalidArgument('response_format', 'json_schema.schema is not valid JSON');
    }
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
      throw invalidArgument('response_format', 'json_schema.schema must be a JSON Schema object');
  }
  return f;
}
