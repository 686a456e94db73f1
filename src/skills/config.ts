/**
 * Configuration of the skill catalogue (composed into the one config by the lead).
 * A config entry either extends a built-in (`base`) and overrides some of its fields, or
 * defines a new skill with its own template, output schema and mapping. An entry with a
 * built-in's name and version replaces that built-in; another version sits beside it.
 */
import { z } from 'zod';
import { SKILL_STATES } from './types';

export const SKILL_NAME = /^[a-z][a-z0-9_-]{0,63}$/;
export const SKILL_VERSION = /^\d{1,6}(\.\d{1,6}){0,2}$/;

export const skillMappingSchema = z.strictObject({
  /** Dotted path to the array of items in the output; '' means the output object is the one item. Default ''. */
  items: z.string().default(''),
  /** Path (within an item) of the entity name. Default '' (none). */
  entity: z.string().default(''),
  /** Path of the ticker. Default '' (none). */
  ticker: z.string().default(''),
  /** Path of the direction: a word (bullish/positive/up/buy → +1, bearish/negative/down/sell → -1, else 0) or a number (its sign). Required. */
  direction: z.string().min(1),
  /** Path of the score in [-1, 1]. Default '': direction × confidence. */
  score: z.string().default(''),
  /** Path of the confidence in [0, 1]. Required. */
  confidence: z.string().min(1),
  /** Path of the label. Default '': the direction value as text. */
  label: z.string().default(''),
  /** Path of the rationale. Default '' (none). */
  rationale: z.string().default(''),
});
export type SkillMappingConfig = z.infer<typeof skillMappingSchema>;

export const skillSamplingSchema = z.strictObject({
  /** Default: the base skill's, else 0 (greedy: the same text gives the same signal). */
  temperature: z.number().min(0).max(2).optional(),
  /** Default: the base skill's, else 1. */
  topP: z.number().gt(0).max(1).optional(),
  /** Default: the base skill's, else derived from the output schema (the longest compact JSON it allows, + 4). */
  maxTokens: z.number().int().min(1).max(32_768).optional(),
  /** Default: none. */
  seed: z.number().int().optional(),
});

export const ensembleSchema = z.strictObject({
  /** Name of a loaded classifier (classifiers.models[].name). Required. */
  classifier: z.string().min(1),
  /** The classifier's weight in [0, 1]; the model gets 1 - weight. Default 0.5. */
  weight: z.number().min(0).max(1).default(0.5),
});

const templateSchema = z.strictObject({
  /** Default ''. */
  system: z.string().max(20_000).default(''),
  /** Must contain {{input}}. Required. */
  user: z.string().min(1).max(20_000),
});

/** How a skill answers `tickers`: its labels scored after each ticker's prompt (src/skills/fanout.ts). */
export const fanoutSchema = z.strictObject({
  /** Scoring prompt ({{input}}, {{skill}}); it should ask for one label about the ticker that follows. Default: the base skill's; required without one. */
  template: templateSchema.optional(),
  /** 2..16 labels, each mapped to a direction like a direction word. Default: the base skill's; required without one. */
  labels: z.array(z.string().min(1).max(64)).min(2).max(16).optional(),
});

export const skillConfigSchema = z.strictObject({
  /** Name clients call (`POST /v1/skills/:name`). Required. */
  name: z.string().regex(SKILL_NAME, 'lowercase letters, digits, - and _, starting with a letter'),
  /** Dotted numeric version. Default: the base skill's, else 1.0.0. */
  version: z.string().regex(SKILL_VERSION, 'dotted numbers, e.g. 1.2.0').optional(),
  /** Built-in to extend (sentiment, events, summary): its schema, mapping and template are the defaults. Default: none. */
  base: z.enum(['sentiment', 'events', 'summary']).optional(),
  /** Default: the base skill's, else ''. */
  description: z.string().max(1000).optional(),
  /** Lifecycle state. Default 'published'. */
  state: z.enum(SKILL_STATES).default('published'),
  /** Notice returned with answers while deprecated. Default: a generic notice naming the skill. */
  deprecation: z.string().max(500).optional(),
  /** Prompt template (placeholders {{input}}, {{shape}}, {{skill}}). Default: the base skill's; required without base. */
  template: templateSchema.optional(),
  /** 'chat' (system + user messages) or 'completion' (one prompt, base models). Default: the base skill's, else 'chat'. */
  promptFormat: z.enum(['chat', 'completion']).optional(),
  /** Output JSON Schema (see src/skills/README.md for the subset). Not allowed with base; required without. */
  outputSchema: z.record(z.string(), z.unknown()).optional(),
  /** Output → signals. Not allowed with base; required without. */
  mapping: skillMappingSchema.optional(),
  /** Signals with confidence below this abstain. Default: the base skill's, else 0.6. */
  threshold: z.number().min(0).max(1).optional(),
  /** Default: the base skill's sampling, field by field. */
  sampling: skillSamplingSchema.optional(),
  /** Largest accepted input in UTF-8 bytes (also capped by skills.maxInputBytes). Default: the base skill's, else 8192. */
  maxInputBytes: z
    .number()
    .int()
    .min(1)
    .max(1 << 20)
    .optional(),
  /** Model for requests that name none. Default: skills.defaultModel. */
  model: z.string().min(1).optional(),
  /** Combine the model with an ONNX classifier; enables modes 'ensemble' and 'classifier'. Default: none. */
  ensemble: ensembleSchema.optional(),
  /** Answer `tickers` with one signal per ticker. Default: the base skill's (sentiment has one), else none (tickers refused). */
  fanout: fanoutSchema.optional(),
});
export type SkillConfig = z.infer<typeof skillConfigSchema>;

export const skillsConfigSchema = z.strictObject({
  /** Register the built-in skills (sentiment, events, summary). Default true. */
  builtins: z.boolean().default(true),
  /** Extra skills, or overrides of built-ins (same name and version). Default []. */
  skills: z.array(skillConfigSchema).default([]),
  /** Model for skill requests that name none, when the skill names none either; '' means the router's default model. Default ''. */
  defaultModel: z.string().default(''),
  /** Deadline for skill requests that give none, in ms. Default 10000. */
  defaultDeadlineMs: z.number().int().min(1).max(3_600_000).default(10_000),
  /** Hard cap on any skill's input, in UTF-8 bytes. Default 65536. */
  maxInputBytes: z
    .number()
    .int()
    .min(1)
    .max(1 << 20)
    .default(65_536),
  /** Tenants that may call draft skills (with `draft: true`); '*' allows any caller, including unauthenticated ones. Default []. */
  draftTenants: z.array(z.string().min(1)).default([]),
});
export type SkillsConfig = z.infer<typeof skillsConfigSchema>;
export type SkillsConfigInput = z.input<typeof skillsConfigSchema>;
