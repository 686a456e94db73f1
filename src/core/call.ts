/**
 * A `Call` is one request, made once at the edge: transport-neutral and immutable.
 * HTTP (src/server + src/api) and WebSocket (src/server + src/protocol) each parse their
 * wire format into a `CallInput` (raw fields, no limits applied), and ONE validator
 * (src/api/validate.ts) turns that into a `Call` with the same limits, codes and fields
 * whichever transport it came from. Everything past the edge (pipeline, router, engine,
 * gateway, skills) reads the Call; nothing rewrites it.
 */
import type { Principal } from './routes';
import type { ChatMessage, InferenceRequest, SamplingParams } from './types';

/** What a call runs. Resolved by the validator from the configured catalogue, never guessed later. */
export type CallTarget =
  | { kind: 'model'; name: string }
  | { kind: 'classifier'; name: string }
  /**
   * `model` is the model the skill runs on: the client's choice (`clientModel`, which the
   * key must be approved for as well), else the skill's own (covered by the skill's approval).
   */
  | { kind: 'skill'; name: string; model: string; clientModel: boolean };

/** `response_format` as OpenAI defines it; `json_schema` carries the schema text. */
export type ResponseFormat =
  { type: 'text' } | { type: 'json_object' } | { type: 'json_schema'; schema: string };

/** Where a call came in. Also a bounded metric label: never a client-chosen string. */
export type CallApi = 'ws' | 'http' | 'skill' | 'classify' | 'decide';

/**
 * Raw request fields as a transport parsed them: types are right, limits unchecked.
 * Field names are the public names both transports report in errors (`max_tokens`,
 * `stop`, `deadline_ms`...), so one invalid request gets the same `field` everywhere.
 */
export interface CallInput {
  id: string;
  /** Model, alias or classifier name; '' for the default model. */
  model: string;
  prompt?: string | undefined;
  messages?: ChatMessage[] | undefined;
  /** Several texts at once (classifiers only). */
  inputs?: string[] | undefined;
  skill?: string | undefined;
  /** Skill options (HTTP /v1/skills): version, mode, draft. */
  skillOptions?: { version?: string | undefined; mode?: string | undefined; draft?: boolean | undefined };
  max_tokens?: number | undefined;
  temperature?: number | undefined;
  top_p?: number | undefined;
  seed?: number | undefined;
  stop?: string[] | undefined;
  /** 0 or absent: the default for the target's kind. */
  deadline_ms?: number | undefined;
  priority?: number | undefined;
  stream?: boolean | undefined;
  choices?: string[] | undefined;
  /** Top alternatives per generated token (0..20); undefined: no logprobs. */
  logprobs?: number | undefined;
  tickers?: string[] | undefined;
  response_format?: ResponseFormat | undefined;
  /** performance.now() when the request arrived. */
  receivedAt: number;
}

/**
 * A validated request. It is an `InferenceRequest` (what runners read), frozen, with an
 * absolute deadline, a resolved target and the caller. Runners that need a variant
 * (a skill's rendered prompt, a remote alias) make a new object; nobody mutates a Call.
 */
export interface Call extends Readonly<InferenceRequest> {
  readonly api: CallApi;
  readonly target: CallTarget;
  readonly principal: Principal | undefined;
  readonly sampling: Readonly<SamplingParams>;
  readonly receivedAt: number;
  readonly deadlineAt: number;
  readonly responseFormat: ResponseFormat | undefined;
  readonly inputs: readonly string[] | undefined;
  readonly skillOptions: CallInput['skillOptions'];
}
