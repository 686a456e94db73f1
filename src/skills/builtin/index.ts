import type { SkillDefinition } from '../types';
import { eventsSkill } from './events';
import { sentimentSkill } from './sentiment';
import { summarySkill } from './summary';

export { sentimentSkill, mapSentiment, sentimentSchema, consistent, type SentimentOutput } from './sentiment';
export { eventsSkill, mapEvents, eventsSchema, EVENT_TYPES, type EventsOutput } from './events';
export {
  summarySkill,
  mapSummary,
  summarySchema,
  summaryDirection,
  GUIDANCE,
  TONES,
  type SummaryOutput,
} from './summary';

export const BUILTIN_SKILLS: Readonly<Record<'sentiment' | 'events' | 'summary', SkillDefinition>> =
  Object.freeze({
    sentiment: sentimentSkill,
    events: eventsSkill,
    summary: summarySkill,
  });
export type BuiltinSkillName = keyof typeof BUILTIN_SKILLS;
