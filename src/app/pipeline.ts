/**
 * The controls every request passes, local or remote, around the router:
 * 1. authorize the caller's key for the model (or skill);
 * 2. reserve quota: a request, prompt + max_tokens tokens, a concurrency slot;
 * 3. route (cache, classifier, local, remote) — src/router;
 * 4. settle the quota against actual usage, on success, error or cancel alike;
 * 5. write one audit record, and (audit.fsync 'always') only then answer: a request
 *    acknowledged as done has its record on disk.
 */
import { ColoError, toColoError } from '../core/errors';
import type { Logger } from '../core/log';
import type { CompletionResult, InferenceRequest, TokenSink } from '../core/types';
import type { AuditLog } from '../audit';
import type { Authenticator, Principal } from '../auth';
import type { Limiter } from '../limits';
import type { CallContext, Router, RouteOutcome } from '../router';

export interface PipelineDeps {
  router: Router;
  auth?: Authenticator | undefined;
  limiter?: Limiter | undefined;
  audit?: AuditLog | undefined;
  log: Logger;
}

/** Rough prompt size for the token reservation; settle corrects it to the real count. */
function estimatePromptTokens(req: InferenceRequest): number {
  const chars =
    (req.prompt?.length ?? 0) + (req.messages?.reduce((n, m) => n + m.content.length + 4, 0) ?? 0);
  return Math.ceil(chars / 4);
}

export class RequestPipeline {
  constructor(private readonly deps: PipelineDeps) {}

  async handle(
    req: InferenceRequest,
    sink: TokenSink | null,
    signal: AbortSignal,
    ctx: CallContext,
    principal: Principal | undefined,
    extra: {
      /** Runs the request instead of the router (a skill); the controls around it are the same. */
      run?: (() => Promise<CompletionResult>) | undefined;
      /** The model's raw output carried by an error (SCHEMA_VIOLATION), for the audit record. */
      rawOutputOf?: (err: unknown) => string | undefined;
    } = {},
  ): Promise<CompletionResult> {
    const { router, auth, limiter, audit } = this.deps;
    if (principal) {
      req.tenant = principal.tenant;
      req.keyId = principal.keyId;
    }
    // A skill picks its own model when the request names none.
    if (!req.skill) req.model = router.resolveModel(req);
    const outcome: RouteOutcome = { redacted: false };
    let result: CompletionResult | undefined;
    let error: unknown;
    let reservation: Awaited<ReturnType<Limiter['reserve']>> | undefined;
    try {
      if (auth && principal)
        await auth.authorize(principal, req.skill ? { skill: req.skill } : { model: req.model });
      if (limiter && principal) {
        reservation = await limiter.reserve({
          tenant: principal.tenant,
          keyId: principal.keyId,
          tokens: estimatePromptTokens(req) + req.sampling.maxTokens,
        });
      }
      result = extra.run
        ? await extra.run()
        : await router.complete(
            req,
            sink,
            signal,
            { ...ctx, allowRemote: principal?.allowRemote ?? true },
            outcome,
          );
      return result;
    } catch (err) {
      error = err;
      throw toColoError(err);
    } finally {
      if (reservation) {
        const used = result ? result.usage.promptTokens + result.usage.completionTokens : 0;
        await limiter!
          .settle(reservation, { tokens: used })
          .catch((e: unknown) => this.deps.log.warn('quota settle failed', { error: String(e) }));
      }
      if (audit) {
        // Durable before the answer goes out; a failed audit write fails the request.
        await audit
          .record({
            req,
            result,
            error,
            redacted: outcome.redacted,
            rawOutput: error ? extra.rawOutputOf?.(error) : undefined,
          })
          .catch((e: unknown) => {
            this.deps.log.error('audit write failed', { error: String(e) });
            if (!error) throw new ColoError('INTERNAL', 'audit record could not be written');
          });
      }
    }
  }
}
