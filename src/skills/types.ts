/**
 * What a skill is: a named, versioned prompt template whose output is constrained to a
 * JSON Schema and mapped to typed signals. Built-ins (builtin/) and config-defined
 * skills (config.ts) both end up as a SkillDefinition; registry.ts compiles them.
 */
import type { CompletionResult, InferenceRequest, Signal, TokenSink } from '../core/types';
import type { CancelSignal } from '../core/cancel';

/** draft: not callable unless explicitly allowed; published: callable; deprecated: callable, answers carry a notice. */
export type SkillState = 'draft' | 'published' | 'deprecated';
export const SKILL_STATES = ['draft', 'published', 'deprecated'] as const;

/** How a run is answered. llm: the model only; ensemble: model + classifier; classifier: classifier only, no model. */
export type SkillMode = 'llm' | 'ensemble' | 'classifier';
export const SKILL_MODES = ['llm', 'ensemble', 'classifier'] as const;

/** A JSON Schema document (the subset jsonSchema.ts accepts). */
export type JsonSchema = { readonly [key: string]: unknown };

export interface SkillTemplate {
  /** System message (chat) or preamble (completion). Placeholders: {{input}}, {{shape}}, {{skill}}. */
  system: string;
  /** The user turn; must contain {{input}}. */
  user: string;
}

/**
 * chat: system + user messages, rendered by the model's chat template (or the remote
 * provider's chat API). completion: one flat prompt, for base models without a chat
 * template.
 */
export type PromptFormat = 'chat' | 'completion';

export interface SkillSampling {
  temperature: number;
  topP: number;
  /**
   * Most tokens the answer may take; the JSON must fit or the run fails with
   * SCHEMA_VIOLATION. Default: the longest compact JSON the schema allows, plus 4 for the
   * grammar's closing newlines (jsonSchema.ts maxOutputChars), so a grammar-constrained
   * answer is never cut off. The router also estimates service time from it: keep
   * schemas tight.
   */
  maxTokens?: number | undefined;
  seed?: number | undefined;
}

/** Turns a schema-valid output into signals. Threshold handling is the service's job, not the mapper's. */
export type SignalMapper = (output: unknown, input: string) => Signal[];

export interface EnsembleConfig {
  /** Name of a loaded classifier (see src/classifier). */
  classifier: string;
  /** The classifier's weight in [0, 1]; the model gets 1 - weight. */
  weight: number;
}

/**
 * Fan-out (`tickers`): instead of generating the JSON answer, the skill's labels are
 * scored as the answer after each ticker's prompt (the rendered template plus a ticker
 * suffix, src/core/ticker.ts), in one scoring request that evaluates the shared prompt
 * once. One signal per ticker: the most probable label, its direction and confidence.
 */
export interface SkillFanout {
  /** The scoring prompt ({{input}}, {{skill}}); it should ask for one of the labels about the ticker that follows. */
  template: SkillTemplate;
  /** 2..16 labels; each maps to a direction like a direction word (bullish/up/buy → +1, bearish/down/sell → -1, else 0). */
  labels: readonly string[];
}

export interface SkillDefinition {
  name: string;
  /** Dotted numeric version, e.g. 1.0.0. Several versions of one name may be registered. */
  version: string;
  description: string;
  state: SkillState;
  /** Notice returned with every answer of a deprecated skill. */
  deprecation?: string | undefined;
  template: SkillTemplate;
  promptFormat: PromptFormat;
  /** The source of truth for the output: validated with ajv, turned into a grammar for local models. */
  outputSchema: JsonSchema;
  /** Signals whose confidence is below this abstain. */
  threshold: number;
  sampling: SkillSampling;
  /** Largest accepted input in UTF-8 bytes. */
  maxInputBytes: number;
  /** Model the skill runs on when the request names none; undefined means the router's default. */
  model?: string | undefined;
  ensemble?: EnsembleConfig | undefined;
  /** How the skill answers `tickers` (one signal per ticker); undefined: it refuses them. */
  fanout?: SkillFanout | undefined;
  map: SignalMapper;
}

/** What the skill service needs of a classifier: structurally a src/classifier Classifier. */
export interface SkillClassifier {
  readonly labels: readonly string[];
  classify(
    texts: readonly string[],
  ): Promise<{ label: string; labelIndex: number; probs: number[]; confidence: number }[]>;
}

/** Looks classifiers up by name; a ClassifierRegistry fits (get throws MODEL_NOT_FOUND / NOT_READY). */
export interface SkillClassifiers {
  get(name: string): SkillClassifier;
}

/** Per-call context the router understands (router.ts CallContext). */
export interface SkillCallContext {
  api: string;
  /** JSON Schema text a local engine compiles into a grammar. */
  jsonSchema?: string | undefined;
  /** The caller's tenant may use remote providers (its principal's `allowRemote`); default true. */
  allowRemote?: boolean | undefined;
}

/** The completer the lead injects: Router.complete, or engine.complete in tests. */
export type SkillCompleter = (
  req: InferenceRequest,
  sink: TokenSink | null,
  signal: CancelSignal,
  ctx: SkillCallContext,
) => Promise<CompletionResult>;

/** One voice in an ensemble, as reported back. */
export interface Vote {
  direction: -1 | 0 | 1;
  score: number;
  confidence: number;
  label: string;
}

export type Agreement = 'agree' | 'disagree' | 'classifier-only' | 'llm-only' | 'neither';

export interface EnsembleReport {
  classifier: string;
  weight: number;
  /** The classifier's vote on the whole text, or the error that kept it out. */
  classifierVote?: Vote | undefined;
  classifierError?: { code: string; message: string } | undefined;
  /** One entry per signal, in signal order. */
  signals: { entity: string; agreement: Agreement; llm: Vote; classifier?: Vote | undefined }[];
}

export interface SkillResult extends CompletionResult {
  skill: string;
  version: string;
  mode: SkillMode;
  signals: Signal[];
  /** The parsed, schema-valid output (classifier mode: label and probabilities). */
  output: unknown;
  deprecation?: string | undefined;
  ensemble?: EnsembleReport | undefined;
}
