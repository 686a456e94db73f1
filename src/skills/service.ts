/**
 * Runs skills: resolve the skill (lifecycle), check the input, then one of
 * - llm: render the template, call the injected completer with the grammar schema,
 *   parse and validate (SCHEMA_VIOLATION keeps the raw text), map, apply the threshold;
 * - ensemble: the same, with the classifier run alongside and combined (ensemble.ts);
 * - classifier: the classifier alone, no model: the microsecond path.
 * It never imports the engine or the gateway; the lead injects the completer.
 */
import { ColoError, toColoError } from '../core/errors';
import type { Principal } from '../core/routes';
import type { CompletionResult, InferenceRequest, Signal, TokenSink } from '../core/types';
import { type SkillsConfig, type SkillsConfigInput } from './config';
import { classifierSignal, classifierVote, combine, llmVote } from './ensemble';
import { validateInput } from './input';
import { SkillRegistry } from './registry';
import { applyThreshold, type Skill } from './skill';
import { fanoutOutput, fanoutSignal } from './fanout';
import type { EnsembleReport, SkillClassifiers, SkillCompleter, SkillMode, SkillResult, Vote } from './types';
import type { CancelSignal } from '../core/cancel';

export interface SkillServiceDeps {
  /** Router.complete (or engine.complete in tests): `(req, sink, signal, { api, jsonSchema })`. */
  complete: SkillCompleter;
  /** Needed when any skill has `ensemble`; a ClassifierRegistry fits. */
  classifiers?: SkillClassifiers | undefined;
}

export interface SkillRunOptions {
  /** Exact skill version; default the newest published. */
  version?: string | undefined;
  /** Default 'ensemble' when the skill has an ensemble, else 'llm'. */
  mode?: SkillMode | undefined;
  /** The caller asks for drafts; granted when its tenant is in skills.draftTenants (or that lists '*'). */
  draft?: boolean | undefined;
  /** Trusted in-process callers (admin tools, tests) may run drafts regardless of draftTenants. Default false. */
  allowDraft?: boolean | undefined;
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: ColoError };
const settle = <T>(p: Promise<T>): Promise<Settled<T>> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (err: unknown) => ({ ok: false as const, error: toColoError(err) }),
  );

export class SkillService {
  constructor(
    readonly registry: SkillRegistry,
    private readonly deps: SkillServiceDeps,
  ) {
    const needs = registry.list().filter((s) => s.def.ensemble);
    if (needs.length > 0 && !deps.classifiers)
      throw new ColoError(
        'INVALID_ARGUMENT',
        `skills ${needs.map((s) => s.id).join(', ')} use an ensemble but no classifiers were given`,
        { field: 'skills' },
      );
  }

  static create(config: SkillsConfigInput | SkillsConfig, deps: SkillServiceDeps): SkillService {
    return new SkillService(SkillRegistry.create(config), deps);
  }

  get config(): Readonly<SkillsConfig> {
    return this.registry.config;
  }

  /** Whether this caller may run drafts when it asks to (draft: true). */
  mayCallDrafts(principal: Principal | undefined): boolean {
    const t = this.registry.config.draftTenants;
    return t.includes('*') || (principal !== undefined && t.includes(principal.tenant));
  }

  /**
   * Runs `req.skill` on `req.prompt` (the input text). `req.model` may be '' (the skill's
   * or the default model); `req.deadlineMs` 0 means skills.defaultDeadlineMs. Tokens of
   * the JSON answer stream to `sink` as they come (not in classifier mode).
   */
  async run(
    req: InferenceRequest,
    sink: TokenSink | null,
    signal: CancelSignal,
    principal?: Principal,
    opts: SkillRunOptions = {},
  ): Promise<SkillResult> {
    const t0 = req.receivedAt ?? performance.now();
    if (!req.skill)
      throw new ColoError('INVALID_ARGUMENT', 'skill: required for a skill request', { field: 'skill' });
    const allowDraft = opts.allowDraft === true || (opts.draft === true && this.mayCallDrafts(principal));
    const skill = this.registry.resolve(req.skill, { version: opts.version, allowDraft });
    const input = validateInput(req.prompt, skill.def.maxInputBytes, 'input');
    const ens = skill.def.ensemble;
    const mode: SkillMode = opts.mode ?? (ens ? 'ensemble' : 'llm');
    if (mode !== 'llm' && !ens)
      throw new ColoError(
        'INVALID_ARGUMENT',
        `mode: ${mode} needs a skill with an ensemble classifier; ${skill.id} has none`,
        { field: 'mode' },
      );
    const fan = req.tickers ? this.fanoutOf(skill, mode) : undefined;
    if (signal.aborted) throw new ColoError('CANCELLED', 'request cancelled');

    if (mode === 'classifier') return this.runClassifier(req, skill, input, t0);

    // Started first: it takes microseconds and overlaps the model's first token.
    const vote = mode === 'ensemble' ? settle(this.vote(ens!.classifier, input)) : undefined;
    const inner: InferenceRequest = {
      id: req.id,
      model: req.model || skill.def.model || '',
      ...(fan ? skill.renderFanout(input) : skill.render(input)),
      // Fan-out scores the labels after each ticker's prompt: nothing is generated or streamed.
      sampling: fan ? { maxTokens: 1, temperature: 0, topP: 1, stop: [] } : { ...skill.sampling, stop: [] },
      deadlineMs: req.deadlineMs > 0 ? req.deadlineMs : this.registry.config.defaultDeadlineMs,
      // The one absolute deadline, made at the edge (src/api/validate.ts), when there is one.
      deadlineAt: req.deadlineAt,
      priority: req.priority,
      stream: fan ? false : req.stream,
      skill: skill.name,
      choices: fan ? [...fan.labels] : undefined,
      tickers: fan ? req.tickers : undefined,
      receivedAt: t0,
      tenant: principal?.tenant ?? req.tenant,
      keyId: principal?.keyId ?? req.keyId,
    };
    const result = await this.deps.complete(inner, fan ? null : sink, signal, {
      api: 'skill',
      jsonSchema: fan ? undefined : skill.grammarSchemaText,
      allowRemote: principal?.allowRemote,
    });
    let output: unknown;
    // Mapped, before the threshold.
    let raw: Signal[];
    if (fan) {
      const decisions = result.decisions;
      if (!decisions) throw new ColoError('INTERNAL', `skill ${skill.id}: the fan-out got no decisions`);
      output = fanoutOutput(decisions, fan.labels);
      raw = decisions.map((d) => fanoutSignal(d, fan.labels));
    } else {
      output = skill.parse(result.text, result.finishReason);
      raw = skill.mapSignals(output, input);
    }
    let signals: Signal[];
    let ensemble: EnsembleReport | undefined;
    if (!vote) signals = raw.map((s) => applyThreshold(s, skill.def.threshold));
    else {
      const v = await vote;
      const clf = v.ok ? v.value : undefined;
      // Combined before the threshold: a voice below it still counts, with its own confidence.
      const combined = raw.map((s) => combine(s, clf, ens!.weight, skill.def.threshold));
      ensemble = {
        classifier: ens!.classifier,
        weight: ens!.weight,
        classifierVote: clf,
        classifierError: v.ok ? undefined : { code: v.error.code, message: v.error.message },
        signals: combined.map((c, i) => ({
          entity: c.signal.entity,
          agreement: c.agreement,
          llm: llmVote(raw[i]!),
          classifier: clf,
        })),
      };
      signals = combined.map((c) => c.signal);
    }
    return {
      ...result,
      // A fan-out's decisions became its signals.
      decisions: undefined,
      text: JSON.stringify(output),
      timings: { ...result.timings, totalUs: usSince(t0) },
      skill: skill.name,
      version: skill.version,
      mode,
      signals,
      output,
      deprecation: skill.def.deprecation,
      ensemble,
    };
  }

  /** The skill's fan-out, or INVALID_ARGUMENT naming `tickers` when it (or the mode) has none. */
  private fanoutOf(skill: Skill, mode: SkillMode): NonNullable<Skill['def']['fanout']> {
    const fan = skill.def.fanout;
    if (!fan) {
      const can = this.registry
        .list()
        .filter((s) => s.def.fanout)
        .map((s) => s.name);
      throw new ColoError(
        'INVALID_ARGUMENT',
        `tickers: skill ${skill.id} has no fan-out (one signal per ticker); skills with one: ${[...new Set(can)].join(', ') || 'none'}`,
        { field: 'tickers' },
      );
    }
    if (mode === 'classifier')
      throw new ColoError(
        'INVALID_ARGUMENT',
        'tickers: mode classifier reads the whole text and cannot tell tickers apart; use mode llm or ensemble',
        { field: 'tickers' },
      );
    return fan;
  }

  private async vote(classifier: string, input: string): Promise<Vote> {
    if (!this.deps.classifiers) throw new ColoError('NOT_READY', 'no classifiers configured');
    const clf = this.deps.classifiers.get(classifier);
    const [c] = await clf.classify([input]);
    return classifierVote(clf.labels, c!);
  }

  private async runClassifier(
    req: InferenceRequest,
    skill: Skill,
    input: string,
    t0: number,
  ): Promise<SkillResult> {
    const name = skill.def.ensemble!.classifier;
    const vote = await this.vote(name, input);
    const totalUs = usSince(t0);
    const signal = classifierSignal(vote, input, name, skill.def.threshold);
    const output = {
      label: vote.label,
      direction: vote.direction,
      score: vote.score,
      confidence: vote.confidence,
    };
    const base: CompletionResult = {
      id: req.id,
      text: JSON.stringify(output),
      finishReason: 'stop',
      usage: { promptTokens: 0, completionTokens: 0 },
      route: { kind: 'local', provider: 'onnx', model: name, cached: false },
      timings: { queueUs: 0, ttftUs: totalUs, totalUs },
    };
    return {
      ...base,
      skill: skill.name,
      version: skill.version,
      mode: 'classifier',
      signals: [signal],
      output,
      deprecation: skill.def.deprecation,
    };
  }
}

const usSince = (t0: number): number => Math.max(0, Math.round((performance.now() - t0) * 1000));
