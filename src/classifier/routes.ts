/**
 * `POST /v1/classify` {model, input: string | string[], id?, deadline_ms?, priority?} →
 * one classification and signal per input, batched in one model run. A CallRoute: the
 * server runs it through the pipeline (auth with the classifier's scope, quota, audit),
 * like the same classifier over the WebSocket. `GET /v1/classifiers` lists their state.
 * A result below the model's `escalateBelow` confidence has `signal.abstain: true` (the
 * cascade: escalate it to the LLM).
 */
import { z } from 'zod';
import { newId } from '../core/ids';
import { parsedOrInvalid } from '../core/errors';
import type { CallRoute, PlainRoute } from '../core/routes';
import type { ClassifierRegistry } from './registry';

const body = z.object({
  model: z.string(),
  input: z.union([z.string(), z.array(z.string())]),
  id: z.string().optional(),
  deadline_ms: z.number().optional(),
  priority: z.number().optional(),
});

export function classifierRoutes(registry: Pick<ClassifierRegistry, 'status'>): [CallRoute, PlainRoute] {
  return [
    {
      kind: 'call',
      method: 'post',
      pattern: '/v1/classify',
      api: 'classify',
      example: { model: '{classifier}', input: 'Shares of Acme surge after record quarterly profit' },
      toCall(req, receivedAt) {
        const b = parsedOrInvalid(body.safeParse(req.body));
        return {
          id: b.id ?? newId('clf'),
          model: b.model,
          ...(typeof b.input === 'string' ? { prompt: b.input } : { inputs: b.input }),
          deadline_ms: b.deadline_ms,
          priority: b.priority,
          receivedAt,
        };
      },
      render(r) {
        const c = r.classifications ?? [];
        return {
          id: r.id,
          model: r.route.model,
          labels: c.length > 0 ? Object.keys(c[0]!.probs) : [],
          results: c.map((x, i) => ({ ...x, signal: r.signals?.[i] })),
          timings: { queue_us: r.timings.queueUs, total_us: r.timings.totalUs },
        };
      },
    },
    {
      method: 'get',
      pattern: '/v1/classifiers',
      async handle() {
        return { status: 200, body: { data: registry.status() } };
      },
    },
  ];
}
