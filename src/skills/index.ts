export { SkillService, type SkillServiceDeps, type SkillRunOptions } from './service';
export { SkillRegistry, compareVersions, type ResolveOptions } from './registry';
export { Skill, applyThreshold } from './skill';
export { SchemaViolationError } from './errors';
export { skillRoutes, describeSkill, skillResponse } from './routes';
export {
  skillsConfigSchema,
  skillConfigSchema,
  skillMappingSchema,
  ensembleSchema,
  type SkillsConfig,
  type SkillsConfigInput,
  type SkillConfig,
  type SkillMappingConfig,
} from './config';
export { BUILTIN_SKILLS, EVENT_TYPES, type BuiltinSkillName } from './builtin';
export { normalizeSchema, toGrammarSchema, describeShape, numberSteps, NUMBER_STEP } from './jsonSchema';
export { combine, classifierVote, classifierSignal, agreementOf } from './ensemble';
export { validateInput } from './input';
export type {
  SkillDefinition,
  SkillState,
  SkillMode,
  SkillResult,
  SkillCompleter,
  SkillCallContext,
  SkillClassifier,
  SkillClassifiers,
  EnsembleConfig,
  EnsembleReport,
  Agreement,
  Vote,
  JsonSchema,
  SkillTemplate,
  PromptFormat,
} from './types';
