/**
 * The skill catalogue: built-ins plus config-defined skills, compiled once at start-up
 * and frozen. Several versions of a name may coexist; a call without a version gets the
 * newest published one (else the newest deprecated one). Drafts are only ever served by
 * explicit permission, and never picked by default.
 */
import { ColoError } from '../core/errors';
import { BUILTIN_SKILLS } from './builtin';
import { type SkillConfig, type SkillsConfig, type SkillsConfigInput, skillsConfigSchema } from './config';
import { declarativeMapper } from './mapping';
import { Skill } from './skill';
import { normalizeSchema } from './jsonSchema';
import type { JsonSchema, SignalMapper, SkillDefinition } from './types';

export interface ResolveOptions {
  /** Exact version; default: newest callable. */
  version?: string | undefined;
  /** Whether drafts may be served (admin, tests, or a tenant in draftTenants with `draft: true`). Default false. */
  allowDraft?: boolean | undefined;
}

export class SkillRegistry {
  private readonly byName = new Map<string, Skill[]>();

  private constructor(readonly config: Readonly<SkillsConfig>) {}

  /** Validates the config (strict) and compiles every skill; throws INVALID_ARGUMENT naming the entry at fault. */
  static create(config: SkillsConfigInput | SkillsConfig = {}): SkillRegistry {
    const cfg = Object.freeze(skillsConfigSchema.parse(config));
    const reg = new SkillRegistry(cfg);
    const defs = new Map<string, SkillDefinition>();
    if (cfg.builtins) {
      for (const b of Object.values(BUILTIN_SKILLS)) {
        defs.set(`${b.name}@${b.version}`, {
          ...b,
          maxInputBytes: Math.min(b.maxInputBytes, cfg.maxInputBytes),
          model: b.model ?? (cfg.defaultModel || undefined),
        });
      }
    }
    const fromConfig = new Set<string>();
    const fields = new Map<string, string>();
    cfg.skills.forEach((c, i) => {
      const def = definitionFromConfig(c, cfg, `skills.skills[${i}]`);
      fields.set(`${def.name}@${def.version}`, `skills.skills[${i}]`);
      const key = `${def.name}@${def.version}`;
      if (fromConfig.has(key))
        throw new ColoError('INVALID_ARGUMENT', `skills.skills[${i}]: ${key} is defined twice`, {
          field: `skills.skills[${i}]`,
        });
      fromConfig.add(key);
      defs.set(key, def); // replaces a built-in of the same name and version
    });
    for (const [key, def] of defs) {
      const field = fields.get(key);
      const skill = field
        ? withField(field, () => new Skill(Object.freeze(def)))
        : new Skill(Object.freeze(def));
      const list = reg.byName.get(def.name) ?? [];
      list.push(skill);
      list.sort((a, b) => compareVersions(b.version, a.version)); // newest first
      reg.byName.set(def.name, list);
    }
    return reg;
  }

  /**
   * The skill to run: SKILL_NOT_FOUND for an unknown name or version, PERMISSION_DENIED
   * for a draft without permission.
   */
  resolve(name: string, opts: ResolveOptions = {}): Skill {
    const list = this.byName.get(name);
    if (!list) throw new ColoError('SKILL_NOT_FOUND', `no skill named "${name}"`, { field: 'skill' });
    if (opts.version !== undefined) {
      const s = list.find((x) => x.version === opts.version);
      if (!s)
        throw new ColoError(
          'SKILL_NOT_FOUND',
          `skill "${name}" has no version ${opts.version} (has ${list.map((x) => x.version).join(', ')})`,
          { field: 'version' },
        );
      if (s.def.state === 'draft' && !opts.allowDraft) throw draftDenied(s);
      return s;
    }
    const pick =
      list.find((s) => s.def.state === 'published') ??
      list.find((s) => s.def.state === 'deprecated') ??
      (opts.allowDraft ? list.find((s) => s.def.state === 'draft') : undefined);
    if (!pick) throw draftDenied(list[0]!);
    return pick;
  }

  /** Every registered skill, by name then newest version first. */
  list(): Skill[] {
    return [...this.byName.keys()].sort().flatMap((n) => this.byName.get(n)!);
  }

  /** The newest version of one name (as `versions(name)[0]`), or undefined when none: a lookup, no copy. */
  newest(name: string): Skill | undefined {
    return this.byName.get(name)?.[0];
  }

  /** Every version of one name, newest first; SKILL_NOT_FOUND when none. */
  versions(name: string): Skill[] {
    const list = this.byName.get(name);
    if (!list) throw new ColoError('SKILL_NOT_FOUND', `no skill named "${name}"`, { field: 'skill' });
    return [...list];
  }
}

const draftDenied = (s: Skill) =>
  new ColoError(
    'PERMISSION_DENIED',
    `skill ${s.id} is a draft: it is callable only with draft: true by an allowed tenant`,
    { field: 'skill' },
  );

/** Numeric, component-wise: 1.10.0 > 1.9.0; missing components count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function definitionFromConfig(c: SkillConfig, cfg: SkillsConfig, field: string): SkillDefinition {
  const bad = (k: string, msg: string) =>
    new ColoError('INVALID_ARGUMENT', `${field}.${k}: ${msg}`, { field: `${field}.${k}` });
  // An entry named like a built-in, without its own schema, tunes that built-in.
  const baseName =
    c.base ??
    (c.outputSchema === undefined && c.name in BUILTIN_SKILLS
      ? (c.name as keyof typeof BUILTIN_SKILLS)
      : undefined);
  const base = baseName ? BUILTIN_SKILLS[baseName] : undefined;
  if (base && (c.outputSchema !== undefined || c.mapping !== undefined))
    throw bad(
      c.outputSchema !== undefined ? 'outputSchema' : 'mapping',
      `cannot be set with base "${base.name}" (its mapping is code tied to its schema); define a new skill without base instead`,
    );
  if (!base) {
    if (!c.template) throw bad('template', 'is required for a skill without base');
    if (!c.outputSchema) throw bad('outputSchema', 'is required for a skill without base');
    if (!c.mapping) throw bad('mapping', 'is required for a skill without base');
  }
  const version = c.version ?? base?.version ?? '1.0.0';
  const outputSchema = base?.outputSchema ?? c.outputSchema!;
  return {
    name: c.name,
    version,
    description: c.description ?? base?.description ?? '',
    state: c.state,
    deprecation:
      c.state === 'deprecated'
        ? (c.deprecation ?? `skill ${c.name}@${version} is deprecated; move to a newer version`)
        : undefined,
    template: c.template ?? base!.template,
    promptFormat: c.promptFormat ?? base?.promptFormat ?? 'chat',
    outputSchema,
    threshold: c.threshold ?? base?.threshold ?? 0.6,
    sampling: {
      temperature: c.sampling?.temperature ?? base?.sampling.temperature ?? 0,
      topP: c.sampling?.topP ?? base?.sampling.topP ?? 1,
      maxTokens: c.sampling?.maxTokens ?? base?.sampling.maxTokens,
      seed: c.sampling?.seed ?? base?.sampling.seed,
    },
    maxInputBytes: Math.min(c.maxInputBytes ?? base?.maxInputBytes ?? 8192, cfg.maxInputBytes),
    model: c.model ?? base?.model ?? (cfg.defaultModel || undefined),
    ensemble: c.ensemble ?? base?.ensemble,
    fanout: fanoutFromConfig(c, base, bad),
    map: base?.map ?? declarativeMapperChecked(c, outputSchema, field),
  };
}

function fanoutFromConfig(
  c: SkillConfig,
  base: SkillDefinition | undefined,
  bad: (k: string, msg: string) => ColoError,
): SkillDefinition['fanout'] {
  if (!c.fanout) return base?.fanout;
  const template = c.fanout.template ?? base?.fanout?.template;
  const labels = c.fanout.labels ?? base?.fanout?.labels;
  if (!template) throw bad('fanout.template', 'is required without a base skill that has a fan-out');
  if (!labels) throw bad('fanout.labels', 'is required without a base skill that has a fan-out');
  return { template, labels };
}

function declarativeMapperChecked(c: SkillConfig, schema: JsonSchema, field: string): SignalMapper {
  // Normalize first so mapping paths are checked against the same schema ajv will use.
  return declarativeMapper(
    c.mapping!,
    withField(field, () => normalizeSchema(schema)),
    `${field}.mapping`,
  );
}

/** Re-throws a config error with the entry's path in front, so the operator finds the line. */
function withField<T>(field: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ColoError && err.code === 'INVALID_ARGUMENT')
      throw new ColoError('INVALID_ARGUMENT', `${field}.${err.message}`, {
        field: `${field}.${err.field ?? ''}`,
      });
    throw err;
  }
}
