/**
 * Prompt rendering. Placeholders are substituted in one pass over the template, so text
 * that came from the caller (which may itself contain "{{shape}}") is never expanded.
 */
import { ColoError } from '../core/errors';
import type { ChatMessage } from '../core/types';
import type { PromptFormat, SkillTemplate } from './types';

export const PLACEHOLDERS = ['input', 'shape', 'skill'] as const;
export type TemplateVars = Record<(typeof PLACEHOLDERS)[number], string>;

const PLACEHOLDER = /\{\{\s*([a-z]+)\s*\}\}/g;

export function fill(template: string, vars: TemplateVars): string {
  return template.replace(PLACEHOLDER, (whole, name: string) =>
    name in vars ? vars[name as keyof TemplateVars] : whole,
  );
}

/** Rejects a template that cannot work: no {{input}}, or an unknown placeholder (a typo would reach the model verbatim). */
export function checkTemplate(t: SkillTemplate, field = 'template'): void {
  const all = `${t.system}\n${t.user}`;
  for (const m of all.matchAll(PLACEHOLDER)) {
    if (!(PLACEHOLDERS as readonly string[]).includes(m[1]!))
      throw new ColoError(
        'INVALID_ARGUMENT',
        `${field}: unknown placeholder ${m[0]} (known: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')})`,
        { field },
      );
  }
  if (![...t.user.matchAll(PLACEHOLDER)].some((m) => m[1] === 'input'))
    throw new ColoError('INVALID_ARGUMENT', `${field}.user: must contain {{input}}`, {
      field: `${field}.user`,
    });
}

export type RenderedPrompt =
  { prompt: string; messages?: undefined } | { prompt?: undefined; messages: ChatMessage[] };

export function renderPrompt(t: SkillTemplate, format: PromptFormat, vars: TemplateVars): RenderedPrompt {
  const system = fill(t.system, vars);
  const user = fill(t.user, vars);
  if (format === 'chat') {
    const messages: ChatMessage[] = system ? [{ role: 'system', content: system }] : [];
    messages.push({ role: 'user', content: user });
    return { messages };
  }
  // Completion mode: end on the opening of the answer so a base model continues with JSON.
  return { prompt: `${system ? `${system}\n\n` : ''}${user}\nJSON:\n` };
}

/**
 * A scoring prompt (fan-out): like renderPrompt, but a completion prompt ends on the
 * text itself, since the engine appends each ticker's suffix and scores the labels after
 * it (src/core/ticker.ts).
 */
export function renderScoringPrompt(
  t: SkillTemplate,
  format: PromptFormat,
  vars: TemplateVars,
): RenderedPrompt {
  if (format === 'chat') return renderPrompt(t, format, vars);
  const system = fill(t.system, vars);
  return { prompt: `${system ? `${system}\n\n` : ''}${fill(t.user, vars)}` };
}
