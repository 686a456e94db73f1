/**
 * `POST /v1/decide` {model, prompt | messages, choices: string[2..64], id?, deadline_ms?,
 * priority?} → {model, choice, probabilities: {<choice>: p}, logprobs: {<choice>: total
 * log-probability}, usage: {prompt_tokens, completion_tokens: 0}, colo: {route, timings}}.
 *
 * Scores a closed set of answers instead of generating one: the prompt is evaluated
 * once and each choice is scored as its continuation (src/engine/score.ts), so the
 * answer is always on the list and costs about one prompt evaluation. A CallRoute: the
 * server runs it through the pipeline (auth with the model's scope, quota, audit), like
 * a WebSocket InferenceRequest with `choices`. Ranges (2..64 unique non-empty choices)
 * are the validator's (src/api/validate.ts).
 */
import { z } from 'zod';
import { newId } from '../core/ids';
import { parsedOrInvalid } from '../core/errors';
import type { CallRoute } from '../core/routes';
import type { CompletionResult } from '../core/types';
import { chatMessage, toChatMessages } from './openai';

const body = z.strictObject({
  model: z.string().default(''),
  prompt: z.string().optional(),
  messages: z.array(chatMessage).optional(),
  choices: z.array(z.string()),
  id: z.string().optional(),
  deadline_ms: z.number().optional(),
  priority: z.number().optional(),
});

export function decideResponse(r: CompletionResult, choices: readonly string[]) {
  const probs = r.choiceProbs ?? [];
  const lps = r.choiceLogprobs ?? [];
  const { promptTokens: p, completionTokens: c } = r.usage;
  return {
    id: r.id,
    object: 'decision',
    model: r.route.model,
    choice: r.choice,
    probabilities: Object.fromEntries(choices.map((ch, i) => [ch, probs[i]])),
    logprobs: Object.fromEntries(choices.map((ch, i) => [ch, lps[i]])),
    usage: { prompt_tokens: p, completion_tokens: c, total_tokens: p + c },
    colo: {
      route: r.route,
      timings: { queue_us: r.timings.queueUs, total_us: r.timings.totalUs },
    },
  };
}

export const decideRoute: CallRoute = {
  kind: 'call',
  method: 'post',
  pattern: '/v1/decide',
  api: 'decide',
  example: { model: '{model}', prompt: 'Once upon a time', choices: ['there', 'dog'] },
  toCall(req, receivedAt) {
    const b = parsedOrInvalid(body.safeParse(req.body));
    return {
      id: b.id ?? newId('dec'),
      model: b.model,
      prompt: b.prompt,
      messages: b.messages && toChatMessages(b.messages),
      choices: b.choices,
      // Nothing is generated; quota reserves the prompt and one token, not a default answer's length.
      max_tokens: 1,
      temperature: 0,
      deadline_ms: b.deadline_ms,
      priority: b.priority,
      receivedAt,
    };
  },
  render(r, input) {
    return decideResponse(r, input.choices ?? []);
  },
};
