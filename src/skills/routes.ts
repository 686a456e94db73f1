/**
 * HTTP routes for skills, as plain-data handlers the server registers:
 *   GET  /v1/skills          the catalogue (every name and version)
 *   GET  /v1/skills/:name    one skill (default version, or ?version=) and its versions
 *   POST /v1/skills/:name    run it: {input, model?, deadline_ms?, version?, mode?, draft?, priority?, id?, tickers?}
 * Errors are thrown as ColoErrors; the server maps them to statuses.
 */
import { z } from 'zod';
import { ColoError, invalidArgument, parsedOrInvalid } from '../core/errors';
import { newId } from '../core/ids';
import type { ExtraRoute } from '../core/routes';
import type { SkillResult } from './types';
import { SKILL_MODES } from './types';
import type { SkillRegistry } from './registry';
import type { Skill } from './skill';

const runBody = z.strictObject({
  input: z.string().min(1),
  model: z.string().optional(),
  deadline_ms: z.number().optional(),
  version: z.string().optional(),
  mode: z.enum(SKILL_MODES).optional(),
  draft: z.boolean().optional(),
  priority: z.number().optional(),
  id: z.string().optional(),
  tickers: z.array(z.string()).optional(),
});

/** The POST body as JSON Schema, for the catalogue (kept beside the zod schema it mirrors). */
function inputSchema(s: Skill) {
  return {
    type: 'object',
    properties: {
      input: {
        type: 'string',
        minLength: 1,
        description: `UTF-8 text, at most ${s.def.maxInputBytes} bytes`,
      },
      model: { type: 'string', description: `default ${s.def.model ?? 'the server default model'}` },
      deadline_ms: { type: 'integer', minimum: 1 },
      version: { type: 'string' },
      mode: { enum: s.def.ensemble ? [...SKILL_MODES] : ['llm'] },
      draft: { type: 'boolean' },
      priority: { type: 'integer', minimum: 0, maximum: 255 },
      id: { type: 'string' },
      ...(s.def.fanout
        ? {
            tickers: {
              type: 'array',
              minItems: 1,
              maxItems: 64,
              uniqueItems: true,
              items: { type: 'string', pattern: '^[A-Za-z0-9.\\-:^/=_]{1,16}$' },
              description: 'fan-out: one signal per ticker, in this order',
            },
          }
        : {}),
    },
    required: ['input'],
    additionalProperties: false,
  };
}

export function describeSkill(s: Skill) {
  const d = s.def;
  return {
    name: d.name,
    version: d.version,
    state: d.state,
    description: d.description,
    ...(d.deprecation ? { deprecation: d.deprecation } : {}),
    modes: d.ensemble ? [...SKILL_MODES] : ['llm'],
    threshold: d.threshold,
    prompt_format: d.promptFormat,
    sampling: {
      temperature: s.sampling.temperature,
      top_p: s.sampling.topP,
      max_tokens: s.sampling.maxTokens,
    },
    max_output_chars: s.maxOutputChars,
    ...(d.model ? { model: d.model } : {}),
    ...(d.ensemble ? { ensemble: d.ensemble } : {}),
    ...(d.fanout ? { fanout: { labels: d.fanout.labels } } : {}),
    input_schema: inputSchema(s),
    output_schema: s.outputSchema,
  };
}

function nameOf(path: string): string {
  const m = /^\/v1\/skills\/([^/]+)\/?$/.exec(path);
  if (!m) throw new ColoError('NOT_FOUND', `no route for ${path}`);
  try {
    return decodeURIComponent(m[1]!);
  } catch {
    throw invalidArgument('skill', 'bad percent-encoding in the skill name');
  }
}

export function skillResponse(r: SkillResult) {
  return {
    id: r.id,
    skill: r.skill,
    version: r.version,
    mode: r.mode,
    signals: r.signals,
    output: r.output,
    finish_reason: r.finishReason,
    route: r.route,
    timings: { queue_us: r.timings.queueUs, ttft_us: r.timings.ttftUs, total_us: r.timings.totalUs },
    usage: {
      prompt_tokens: r.usage.promptTokens,
      completion_tokens: r.usage.completionTokens,
      ...(r.usage.cachedTokens === undefined ? {} : { cached_tokens: r.usage.cachedTokens }),
    },
    ...(r.deprecation ? { deprecation: r.deprecation } : {}),
    ...(r.ensemble ? { ensemble: r.ensemble } : {}),
  };
}

/**
 * The skill routes. Running one is a CallRoute: the server runs it through the one
 * pipeline (auth with the skill's scope and any model the client chose, quota, audit),
 * exactly as a WebSocket request with `skill` set.
 */
export function skillRoutes(registry: Pick<SkillRegistry, 'list' | 'versions' | 'resolve'>): ExtraRoute[] {
  return [
    {
      method: 'get',
      pattern: '/v1/skills',
      async handle() {
        return { status: 200, body: { object: 'list', data: registry.list().map(describeSkill) } };
      },
    },
    {
      method: 'get',
      pattern: '/v1/skills/:name',
      async handle(req) {
        const name = nameOf(req.path);
        const version = new URLSearchParams(req.query).get('version') ?? undefined;
        const versions = registry.versions(name);
        const s =
          version !== undefined
            ? registry.resolve(name, { version, allowDraft: true })
            : (versions.find((v) => v.def.state !== 'draft') ?? versions[0]!);
        return {
          status: 200,
          body: {
            ...describeSkill(s),
            versions: versions.map((v) => ({ version: v.version, state: v.def.state })),
          },
        };
      },
    },
    {
      kind: 'call',
      method: 'post',
      pattern: '/v1/skills/:name',
      api: 'skill',
      example: { input: 'Acme Corp (ACME) beats estimates and raises full-year guidance' },
      toCall(req, receivedAt) {
        const name = nameOf(req.path);
        const b = parsedOrInvalid(runBody.safeParse(req.body));
        return {
          id: b.id ?? newId('skill'),
          model: b.model ?? '',
          prompt: b.input,
          skill: name,
          skillOptions: { version: b.version, mode: b.mode, draft: b.draft },
          tickers: b.tickers,
          deadline_ms: b.deadline_ms,
          priority: b.priority,
          stream: false,
          receivedAt,
        };
      },
      render: (r) => skillResponse(r as SkillResult),
    },
  ];
}
