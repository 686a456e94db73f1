/**
 * `POST /v1/decide` {model, prompt | messages, choices: string[2..64], tickers?:
 * string[1..64], id?, deadline_ms?, priority?} → {model, choice, probabilities:
 * {<choice>: p}, logprobs: {<choice>: total log-probability}, usage: {prompt_tokens,
 * completion_tokens: 0}, colo: {route, timings}}.
 *
 * With `tickers` (fan-out) the answer has `decisions: [{ticker, choice, probabilities,
 * logprobs}]`, one per ticker in request order, instead of the top-level choice: each
 * ticker's prompt is the prompt plus a short ticker suffix (src/core/ticker.ts), so the
 * prompt is evaluated once for all of them and usage counts it once.
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
import { chatMessage, toChatMessages, usageJson } from './openai';

const body = z.strictObject({
  model: z.string().default(''),
  prompt: z.string().optional(),
  messages: z.array(chatMessage).optional(),
  choices: z.array(z.string()),
  tickers: z.array(z.string()).optional(),
  id: z.string().optional(),
  deadline_ms: z.number().optional(),
  priority: z.number().optional(),
});

const byChoice = (choices: readonly string[], xs: readonly number[] | undefined) =>
  Object.fromEntries(choices.map((ch, i) => [ch, xs?.[i]]));

export function decideResponse(r: CompletionResult, choices: readonly string[]) {
  const answer = r.decisions
    ? {
        decisions: r.decisions.map((d) => ({
          ticker: d.ticker,
          choice: d.choice,
          probabilities: byChoice(choices, d.probs),
          logprobs: byChoice(choices, d.logprobs),
        })),
      }
    : {
        choice: r.choice,
        probabilities: byChoice(choices, r.choiceProbs),
        logprobs: byChoice(choices, r.choiceLogprobs),
      };
  return {
    id: r.id,
    object: 'decision',
    model: r.route.model,
    ...answer,
    usage: usageJson(r.usage),
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
      tickers: b.tickers,
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
