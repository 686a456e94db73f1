/**
 * events: corporate and macro events from a fixed taxonomy, the entities each touches,
 * and the expected price direction. One signal per (event, entity); an event naming no
 * entity gives one signal with entity "". No event found gives no signal.
 */
import type { Signal } from '../../core/types';
import type { SkillDefinition } from '../types';
import { CONFIDENCE, DIRECTION_WORDS, TICKER, cleanTicker, directionOf, round, str } from './common';

export const EVENT_TYPES = [
  'm_and_a',
  'earnings',
  'guidance',
  'rating_change',
  'regulatory',
  'litigation',
  'product',
  'supply_chain',
  'management_change',
  'macro',
] as const;

export interface EventsOutput {
  events: {
    type: string;
    entities: { name: string; ticker: string }[];
    direction: string;
    confidence: number;
    summary: string;
  }[];
}

export const eventsSchema = {
  type: 'object',
  properties: {
    events: {
      type: 'array',
      minItems: 0,
      maxItems: 2,
      items: {
        type: 'object',
        properties: {
          type: { enum: [...EVENT_TYPES] },
          entities: {
            type: 'array',
            minItems: 0,
            maxItems: 2,
            items: { type: 'object', properties: { name: str(32), ticker: TICKER } },
          },
          direction: {
            enum: [...DIRECTION_WORDS],
            description: 'expected price direction for these entities',
          },
          confidence: CONFIDENCE,
          summary: str(80, 'what happened, in a few words'),
        },
      },
    },
  },
};

export function mapEvents(output: unknown): Signal[] {
  const out: Signal[] = [];
  for (const ev of (output as EventsOutput).events) {
    const direction = directionOf(ev.direction);
    const entities = ev.entities.length > 0 ? ev.entities : [{ name: '', ticker: '' }];
    for (const en of entities) {
      out.push({
        entity: en.name.trim(),
        ticker: cleanTicker(en.ticker),
        direction,
        // The model states a direction and how sure it is; strength is the product.
        score: round(direction * ev.confidence),
        confidence: round(ev.confidence),
        label: ev.type,
        rationale: ev.summary.trim(),
        abstain: false,
      });
    }
  }
  return out;
}

export const eventsSkill: SkillDefinition = {
  name: 'events',
  version: '1.0.0',
  description: `Market-moving events (${EVENT_TYPES.join(', ')}) in a headline or short text, with the entities involved and the expected direction.`,
  state: 'published',
  template: {
    system:
      'You are a financial news analyst. List the market-moving events in the text (at most 2), each with its type, ' +
      'the companies it involves and the price direction you expect for them. If there is no such event, return an empty list. ' +
      `Event types: ${EVENT_TYPES.join(', ')}. Answer with JSON only, in exactly this shape:\n{{shape}}`,
    user: 'Text:\n"""\n{{input}}\n"""',
  },
  promptFormat: 'chat',
  outputSchema: eventsSchema,
  threshold: 0.6,
  sampling: { temperature: 0, topP: 1 },
  maxInputBytes: 8192,
  map: mapEvents,
};
