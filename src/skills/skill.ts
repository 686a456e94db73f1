/**
 * A compiled skill: a definition plus what is derived from it once, at registration
 * (normalized schema, ajv validator, grammar text, prompt shape). Rendering, parsing and
 * mapping are pure, so snapshot and unit tests need no model.
 */
import { ColoError } from '../core/errors';
import type { FinishReason, Signal } from '../core/types';
import { SchemaViolationError } from './errors';
import { describeShape, maxOutputChars, normalizeSchema, toGrammarSchema } from './jsonSchema';
import { checkTemplate, renderPrompt, renderScoringPrompt, type RenderedPrompt } from './template';
import type { JsonSchema, SkillDefinition, SkillSampling } from './types';
import { compileValidator, type OutputValidator } from './validate';

export class Skill {
  /** The normalized output schema (all properties required, no extras): what ajv checks and the catalogue shows. */
  readonly outputSchema: JsonSchema;
  /** JSON text of the grammar form, passed as ctx.jsonSchema; also the engine's grammar cache key. */
  readonly grammarSchemaText: string;
  /** Compact description of the output for prompts. */
  readonly shape: string;
  /** Longest compact output the grammar allows, in characters (≥ tokens). */
  readonly maxOutputChars: number;
  /** The definition's sampling with maxTokens resolved. */
  readonly sampling: Readonly<Required<Omit<SkillSampling, 'seed'>>> & { seed?: number | undefined };
  private readonly validator: OutputValidator;

  constructor(readonly def: Readonly<SkillDefinition>) {
    checkTemplate(def.template);
    if (def.fanout) checkFanout(def.fanout.template, def.fanout.labels);
    this.outputSchema = normalizeSchema(def.outputSchema);
    const grammar = toGrammarSchema(this.outputSchema);
    this.grammarSchemaText = JSON.stringify(grammar);
    this.maxOutputChars = maxOutputChars(grammar);
    // +4: the grammar ends every answer with four newlines (node-llama-cpp's stop trigger).
    this.sampling = { ...def.sampling, maxTokens: def.sampling.maxTokens ?? this.maxOutputChars + 4 };
    this.shape = describeShape(this.outputSchema);
    this.validator = compileValidator(this.outputSchema);
  }

  get name(): string {
    return this.def.name;
  }

  get version(): string {
    return this.def.version;
  }

  get id(): string {
    return `${this.def.name}@${this.def.version}`;
  }

  render(input: string): RenderedPrompt {
    return renderPrompt(this.def.template, this.def.promptFormat, {
      input,
      shape: this.shape,
      skill: this.def.name,
    });
  }

  /** The scoring prompt of a fan-out run (`tickers`); the engine adds each ticker's suffix. */
  renderFanout(input: string): RenderedPrompt {
    return renderScoringPrompt(this.def.fanout!.template, this.def.promptFormat, {
      input,
      shape: this.shape,
      skill: this.def.name,
    });
  }

  /** Validation errors of a value against the output schema; [] when valid. */
  violations(value: unknown): string[] {
    return this.validator(value);
  }

  /**
   * Parses model text into the schema-valid output, or throws SchemaViolationError with
   * the raw text. An answer cut off by maxTokens is reported as truncated: it is the
   * usual reason a grammar-constrained answer fails to parse.
   */
  parse(text: string, finishReason: FinishReason = 'stop'): unknown {
    let value: unknown;
    try {
      value = JSON.parse(stripFence(text));
    } catch (err) {
      const why =
        finishReason === 'length'
          ? `truncated at maxTokens (${this.sampling.maxTokens})`
          : `not JSON: ${(err as Error).message}`;
      throw new SchemaViolationError(this.def.name, this.def.version, text, [why]);
    }
    const v = this.validator(value);
    if (v.length > 0) throw new SchemaViolationError(this.def.name, this.def.version, text, v);
    return value;
  }

  /** Maps a valid output to signals, before the threshold (abstain is set only for the mapper's own reasons). */
  mapSignals(output: unknown, input: string): Signal[] {
    return this.def.map(output, input);
  }

  /** Maps a valid output to signals and applies the threshold: below it a signal abstains, it is never dropped. */
  toSignals(output: unknown, input: string): Signal[] {
    return this.mapSignals(output, input).map((s) => applyThreshold(s, this.def.threshold));
  }
}

/** A fan-out needs a usable scoring template and 2..16 distinct, non-blank labels. */
function checkFanout(template: SkillDefinition['template'], labels: readonly string[]): void {
  checkTemplate(template, 'fanout.template');
  const bad = (msg: string) =>
    new ColoError('INVALID_ARGUMENT', `fanout.labels: ${msg}`, { field: 'fanout.labels' });
  if (labels.length < 2 || labels.length > 16) throw bad('give 2..16 labels');
  if (new Set(labels).size !== labels.length) throw bad('labels must be distinct');
  if (labels.some((l) => l.trim().length === 0)) throw bad('labels must not be blank');
}

export function applyThreshold(s: Signal, threshold: number): Signal {
  return s.confidence < threshold && !s.abstain ? { ...s, abstain: true } : s;
}

/** Remote chat models often wrap JSON in a ```json fence despite the prompt; that alone is not a violation. */
function stripFence(text: string): string {
  const t = text.trim();
  const m = /^```(?:json)?\s*\n([\s\S]*?)\n?```$/.exec(t);
  return m ? m[1]! : t;
}
