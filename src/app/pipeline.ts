/**
 * The one pipeline every model-running request goes through, whatever its transport
 * and target (model, skill, classifier):
 *   1. validate  CallInput → Call (src/api/validate.ts; the same limits everywhere)
 *   2. authorize the exact scope: the model, the skill (and a model the client chose
 *                for it), the classifier
 *   3. reserve   quota: a request, prompt + max_tokens tokens, a concurrency slot
 *   4. run       route (cache, local, remote, refuse) and run: the injected CallRunner
 *   5. settle    tokens and cost actually used, whatever ended it (result, cancel,
 *                disconnect, deadline, error, shutdown)
 *   6. audit     one record, written before the answer goes out (src/audit)
 *   7. metrics   the router's colo:request:done event, and INTERNAL causes logged here
 *
 * The steps are typed so none can be skipped: the runner only accepts an `Admitted`
 * call, and only `reserve()` (which only takes an `Authorized` call) mints one. The
 * runner is given to the pipeline alone; server routes only see `execute()`.
 */
import type { Call, CallApi, CallInput } from '../core/call';
import { ColoError, toColoError, type PartialUsage } from '../core/errors';
import type { Logger } from '../core/log';
import type { Principal } from '../core/routes';
import {
  DEFAULT_SAMPLING,
  promptChars,
  type CompletionResult,
  type InferenceRequest,
  type Route,
  type TokenSink,
  type Usage,
} from '../core/types';
import type { AuditLog } from '../audit';
import type { Authenticator } from '../auth';
import type { Limiter } from '../limits';
import { validateCall, type Catalogue, type CallLimits } from '../api/validate';
import { requestDone, type RequestDoneEvent } from '../metrics/events';
import type { CancelSignal } from '../core/cancel';

declare const authorizedBrand: unique symbol;
declare const admittedBrand: unique symbol;
/** A call whose principal may use its exact scope. */
export type Authorized = Call & { readonly [authorizedBrand]: true };
/** An authorized call holding its quota reservation: the only thing a runner accepts. */
export type Admitted = Authorized & { readonly [admittedBrand]: true };

/** What happened on the way, for the audit record. */
export interface RunOutcome {
  redacted: boolean;
  /** The model's raw output carried by an error (SCHEMA_VIOLATION), for the audit record. */
  rawOutput?: string | undefined;
}

/** Runs an admitted call: cache, classifier, local, remote or refuse (src/app/runner.ts). */
export interface CallRunner {
  run(
    call: Admitted,
    sink: TokenSink | null,
    signal: CancelSignal,
    outcome: RunOutcome,
  ): Promise<CompletionResult>;
}

/** Cost in micro-dollars of what a request used on a route (configured prices; 0 when unpriced). */
export type Pricer = (route: Route | undefined, model: string, usage: Usage) => number;

export interface PipelineDeps {
  runner: CallRunner;
  limits: CallLimits;
  catalogue: Catalogue;
  auth?: Authenticator | undefined;
  limiter?: Limiter | undefined;
  audit?: AuditLog | undefined;
  price?: Pricer | undefined;
  log: Logger;
}

type Reservation = Awaited<ReturnType<Limiter['reserve']>>;

/** Rough prompt size for the token reservation; settle corrects it to the real count. */
const estimatePromptTokens = (call: Call): number => Math.ceil(promptChars(call, 4) / 4);

/** Logs an INTERNAL error's cause at most this often (per pipeline), with the request id. */
const INTERNAL_LOG_INTERVAL_MS = 1000;

export class RequestPipeline {
  private lastInternalLog = -Infinity;
  private suppressedInternal = 0;
  /** INTERNAL errors seen (logged or rate-limited). */
  internalErrors = 0;

  constructor(private readonly deps: PipelineDeps) {}

  /** Step 1 alone: the validator, for transports that must answer before running (tests, tools). */
  validate(input: CallInput, api: CallApi, principal: Principal | undefined): Call {
    return validateCall(input, api, principal, this.deps.limits, this.deps.catalogue);
  }

  /** The only way to run a model. Rejects with a ColoError; its `usage` holds what was charged. */
  async execute(
    input: CallInput,
    api: CallApi,
    principal: Principal | undefined,
    sink: TokenSink | null,
    signal: CancelSignal,
  ): Promise<CompletionResult> {
    let call: Call;
    try {
      call = this.validate(input, api, principal);
    } catch (err) {
      const e = toColoError(err);
      publishRefusal(api, input.model, e, input.receivedAt, input.id, principal?.tenant);
      // Refused requests are audited too (who asked for what), from the raw input.
      const durable = this.audit(refusedRequest(input, principal), undefined, e, { redacted: false }, 0);
      if (durable) await durable;
      throw e;
    }
    const outcome: RunOutcome = { redacted: false };
    let ran = false;
    let result: CompletionResult | undefined;
    let error: ColoError | undefined;
    let reservation: Reservation | undefined;
    try {
      const authorized = await this.authorize(call);
      const admitted = await this.reserve(authorized, (r) => (reservation = r));
      ran = true;
      result = await this.deps.runner.run(admitted, sink, signal, outcome);
    } catch (err) {
      error = this.classify(err, signal, call);
      // The router reports what it ran; refusals before it (auth, quota) are reported here.
      if (!ran) publishRefusal(api, call.model, error, call.receivedAt, call.id, principal?.tenant);
    }
    const usage: PartialUsage | Usage | undefined = result?.usage ?? error?.usage;
    const cost = usage && this.deps.price ? this.deps.price(result?.route, call.model, usage) : 0;
    if (result && cost > 0) result.costMicros = cost;
    if (reservation) this.settle(reservation, usage, cost);
    const durable = this.audit(call, result, error, outcome, cost);
    if (durable) await durable; // audit.fsync 'always' only
    if (error) throw error;
    return result!;
  }

  private async authorize(call: Call): Promise<Authorized> {
    const { auth } = this.deps;
    const p = call.principal;
    if (auth && p) {
      const t = call.target;
      await auth.authorize(
        p,
        t.kind === 'skill'
          ? { skill: t.name, model: t.clientModel ? t.model : undefined }
          : { model: t.name },
      );
    }
    return call as Authorized;
  }

  private async reserve(call: Authorized, hold: (r: Reservation) => void): Promise<Admitted> {
    const { limiter } = this.deps;
    const p = call.principal;
    if (limiter && p) {
      hold(
        await limiter.reserve({
          tenant: p.tenant,
          keyId: p.keyId,
          tokens:
            estimatePromptTokens(call) + (call.target.kind === 'classifier' ? 0 : call.sampling.maxTokens),
        }),
      );
    }
    return call as Admitted;
  }

  /** Quota settles off the answer's path: it never delays or fails the answer. */
  private settle(r: Reservation, usage: PartialUsage | Usage | undefined, cost: number): void {
    const tokens = usage ? usage.promptTokens + usage.completionTokens : 0;
    void this.deps
      .limiter!.settle(r, { tokens, cost })
      .catch((e: unknown) => this.deps.log.warn('quota settle failed', { error: String(e) }));
  }

  /** Durable per audit.fsync before the answer goes out; a failed write fails a successful request. */
  private audit(
    call: InferenceRequest,
    result: CompletionResult | undefined,
    error: ColoError | undefined,
    outcome: RunOutcome,
    cost: number,
  ): Promise<void> | undefined {
    const { audit } = this.deps;
    if (!audit) return undefined;
    const input = {
      req: call,
      result,
      error,
      cost,
      redacted: outcome.redacted,
      rawOutput: error ? outcome.rawOutput : undefined,
      elapsedUs:
        result || call.receivedAt === undefined
          ? undefined
          : Math.max(0, Math.round((performance.now() - call.receivedAt) * 1000)),
    };
    const fail = (e: unknown): void => {
      this.deps.log.error('audit write failed', { requestId: call.id, error: String(e) });
      if (!error) throw new ColoError('INTERNAL', 'audit record could not be written');
    };
    let pending: Promise<void> | undefined;
    try {
      pending = audit.record(input);
    } catch (e) {
      fail(e);
    }
    return pending?.catch(fail);
  }

  /**
   * Turns whatever ended a request into its ColoError: a shutdown abort becomes
   * SHUTTING_DOWN (keeping the tokens so far), and an INTERNAL error's cause is logged
   * once with the request id (rate-limited), since the client only sees "internal error".
   */
  private classify(err: unknown, signal: CancelSignal, call: Call): ColoError {
    let e = toColoError(err);
    const reason: unknown = signal.aborted ? signal.reason : undefined;
    if (e.code === 'CANCELLED' && reason instanceof ColoError && reason.code !== 'CANCELLED') {
      const usage = e.usage;
      e = new ColoError(reason.code, reason.message, { retryAfterMs: reason.retryAfterMs, usage });
    }
    if (e.code === 'INTERNAL') {
      this.internalErrors++;
      const now = performance.now();
      if (now - this.lastInternalLog >= INTERNAL_LOG_INTERVAL_MS) {
        this.deps.log.error('internal error', {
          requestId: call.id,
          model: call.model,
          cause: describe(e.cause ?? err),
          suppressed: this.suppressedInternal,
        });
        this.lastInternalLog = now;
        this.suppressedInternal = 0;
      } else this.suppressedInternal++;
    }
    return e;
  }
}

/** What the audit record of a request refused by the validator is built from. */
function refusedRequest(input: CallInput, principal: Principal | undefined): InferenceRequest {
  return {
    id: input.id,
    model: input.model,
    prompt: input.prompt,
    messages: input.messages,
    skill: input.skill,
    sampling: { ...DEFAULT_SAMPLING, stop: [] },
    deadlineMs: input.deadline_ms ?? 0,
    priority: 0,
    stream: input.stream ?? false,
    receivedAt: input.receivedAt,
    tenant: principal?.tenant,
    keyId: principal?.keyId,
  };
}

/** One colo:request:done event for a request refused before it ran (metrics subscribe). */
function publishRefusal(
  api: string,
  model: string,
  err: ColoError,
  receivedAt: number,
  id: string,
  tenant: string | undefined,
): void {
  if (!requestDone.hasSubscribers) return;
  const totalUs = Math.max(0, Math.round((performance.now() - receivedAt) * 1000));
  const e: RequestDoneEvent = {
    api,
    model,
    id,
    tenant,
    receivedAt,
    route: 'none',
    provider: 'none',
    errorCode: err.code,
    queueUs: totalUs,
    ttftUs: 0,
    totalUs,
    gapsUs: [],
  };
  requestDone.publish(e);
}

function describe(cause: unknown): string {
  if (cause instanceof Error) return cause.stack ?? `${cause.name}: ${cause.message}`;
  return String(cause);
}
