/**
 * Snapshot tests of every built-in skill's rendered prompt and derived schemas. A
 * change to a template, a schema or the shape text shows up here as a diff to review:
 * prompts are part of a skill's version.
 */
import { describe, expect, it } from 'vitest';
import { SkillRegistry } from '../../src/skills';

const registry = SkillRegistry.create({});
const INPUT = 'Apple ($AAPL) beats Q3 estimates and raises full-year guidance; shares up 4% after hours.';

describe.each(['sentiment', 'events', 'summary'])('built-in skill %s', (name) => {
  const skill = registry.resolve(name);

  it('renders its chat prompt', () => {
    expect(skill.render(INPUT)).toMatchSnapshot();
  });

  it('describes its output shape', () => {
    expect(skill.shape).toMatchSnapshot();
  });

  it('derives its grammar schema (as text: property order is generation order)', () => {
    expect(JSON.stringify(JSON.parse(skill.grammarSchemaText), null, 1)).toMatchSnapshot();
  });
});

describe('completion format', () => {
  it('renders one flat prompt ending on the answer', () => {
    const reg = SkillRegistry.create({
      builtins: false,
      skills: [{ name: 'sentiment-base', base: 'sentiment', promptFormat: 'completion' }],
    });
    const r = reg.resolve('sentiment-base').render('Tesla recalls 2M cars');
    expect(r.messages).toBeUndefined();
    expect(r.prompt!.endsWith('\nJSON:\n')).toBe(true);
    expect(r).toMatchSnapshot();
  });
});
