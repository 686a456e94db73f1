/**
 * Step 4 of the pipeline: runs an admitted call on what its target names. Models (local,
 * remote, cached) and classifiers go through the router, which decides the route; skills
 * go through the skill service, whose model calls go back through the router with the
 * caller's remote policy. Only the pipeline holds a CallRunner.
 */
import type { CompletionResult, InferenceRequest, TokenSink } from '../core/types';
import type { CallContext, Router } from '../router';
import type { SkillService } from '../skills';
import type { SkillCompleter } from '../skills/types';
import type { Admitted, CallRunner, RunOutcome } from './pipeline';
import type { CancelSignal } from '../core/cancel';

/** `response_format: json_object` as a schema the local grammar compiler accepts. */
const ANY_JSON_OBJECT = JSON.stringify({ type: 'object', additionalProperties: true });

/** Builds the runner and the skill service it owns (skills' model calls need the runner's context). */
export function createRunner(
  router: Router,
  createSkills: (complete: SkillCompleter) => SkillService,
): { runner: CallRunner; skills: SkillService } {
  // A skill's model calls carry its caller's remote policy in their context (the skill
  // service has the principal). Not an AsyncLocalStorage: on Node 20 its first run()
  // turns on promise hooks for every promise in the process, ~16 µs a request on every
  // path (bench/README.md, "What a refusal costs").
  const completeForSkill = (
    req: InferenceRequest,
    sink: TokenSink | null,
    signal: CancelSignal,
    ctx: CallContext,
  ): Promise<CompletionResult> =>
    router.complete(req, sink, signal, { ...ctx, allowRemote: ctx.allowRemote ?? true });
  const skills = createSkills(completeForSkill);

  const runner: CallRunner = {
    run(call: Admitted, sink: TokenSink | null, signal: CancelSignal, outcome: RunOutcome) {
      const allowRemote = call.principal?.allowRemote ?? true;
      if (call.target.kind === 'skill') {
        const opts = call.skillOptions;
        return skills
          .run(call, sink, signal, call.principal, {
            version: opts?.version,
            mode: opts?.mode as never,
            draft: opts?.draft,
          })
          .catch((err: unknown) => {
            outcome.rawOutput = (err as { rawOutput?: string }).rawOutput;
            throw err;
          });
      }
      const f = call.responseFormat;
      const jsonSchema = f === undefined ? undefined : f.type === 'json_schema' ? f.schema : ANY_JSON_OBJECT;
      return router.complete(call, sink, signal, { api: call.api, allowRemote, jsonSchema }, outcome);
    },
  };
  return { runner, skills };
}
