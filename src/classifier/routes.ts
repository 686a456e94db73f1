/**
 * `POST /v1/classify` {model, input: string | string[]} → one classification and
 * signal per input, batched in one model run. Errors are the usual ColoErrors
 * (MODEL_NOT_FOUND, INVALID_ARGUMENT, OVERLOADED).
 */
import { z } from 'zod';
import { invalidArgument } from '../core/errors';
import type { ExtraRoute } from '../core/routes';
import type { ClassifierRegistry } from './registry';
import { classificationToSignal } from './signal';

const body = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1).max(4096)]),
});

export function classifierRoutes(registry: ClassifierRegistry): ExtraRoute[] {
  return [
    {
      method: 'post',
      pattern: '/v1/classify',
      async handle(req) {
        const parsed = body.safeParse(req.body);
        if (!parsed.success) {
          const issue = parsed.error.issues[0]!;
          throw invalidArgument(issue.path.join('.') || 'body', issue.message);
        }
        const t0 = performance.now();
        const clf = registry.get(parsed.data.model);
        const inputs = typeof parsed.data.input === 'string' ? [parsed.data.input] : parsed.data.input;
        const results = await clf.classify(inputs);
        const totalUs = Math.round((performance.now() - t0) * 1000);
        return {
          status: 200,
          body: {
            model: parsed.data.model,
            labels: clf.labels,
            results: results.map((r, i) => ({
              label: r.label,
              confidence: r.confidence,
              probs: Object.fromEntries(clf.labels.map((l, j) => [l, r.probs[j]])),
              signal: classificationToSignal(r, clf.labels, inputs[i]!),
            })),
            timings: { total_us: totalUs },
          },
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
