/**
 * The audit record and how one is built from a finished (or failed) request. Records
 * are assembled field by field from an explicit list — never by spreading a request,
 * headers or an error — so provider keys and API keys cannot ride along. Free text that
 * is kept ('full': prompts, responses, raw output) is masked by the redaction detectors
 * (PII and credentials); only content 'raw', asked for by name, keeps PII as sent.
 * Credential shapes and provider keys are scrubbed from every kept text.
 */
import { hash } from 'node:crypto';
import { ColoError, toColoError, type ErrorCode } from '../core/errors';
import type { ChatMessage, CompletionResult, InferenceRequest, RouteKind } from '../core/types';
import { SECRET_SHAPES, secretRegex } from '../core/secrets';
import type { AuditConfig } from './config';

export type AuditStatus = 'ok' | 'error';

export interface AuditRecord {
  v: 1;
  /** When the request finished, ISO 8601 UTC. */
  ts: string;
  requestId: string;
  tenant: string;
  keyId: string;
  /** The model the request asked for. */
  model: string;
  skill?: string | undefined;
  /** Who answered; absent when the request failed before routing. */
  route?: { kind: RouteKind; provider: string; model: string; cached: boolean } | undefined;
  tokens: { prompt: number; completion: number };
  /** Cost in integer micro-dollars (`costOf` in src/limits/pricing.ts); 0 when unpriced. */
  cost: number;
  /** Microseconds from receipt. */
  latencyUs: { queue: number; ttft: number; total: number };
  status: AuditStatus;
  errorCode?: ErrorCode | undefined;
  finishReason?: string | undefined;
  prompt?: string | ChatMessage[] | undefined;
  promptSha256?: string | undefined;
  response?: string | undefined;
  responseSha256?: string | undefined;
  /** Raw model output, kept on SCHEMA_VIOLATION whatever the content policy. */
  rawOutput?: string | undefined;
  /** Whether the prompt was redacted before it left the box. */
  redacted?: boolean | undefined;
}

export interface AuditInput {
  /** The request as the client sent it (after auth filled tenant and keyId). */
  req: InferenceRequest;
  result?: CompletionResult | undefined;
  /** Set when the request failed. */
  error?: unknown;
  /** Cost in integer micro-dollars (`costOf(pricing, route, usage)`); default 0. */
  cost?: number | undefined;
  /** The model's raw output, for SCHEMA_VIOLATION. */
  rawOutput?: string | undefined;
  redacted?: boolean | undefined;
  /** Finish time; default now. */
  at?: Date | undefined;
}

/** One-shot `crypto.hash`: no Hash object per call (two per audited request). */
const sha256 = (s: string): string => hash('sha256', s, 'hex');

/**
 * Masks PII and credentials in kept text: the redaction detectors (src/redact's
 * `Redactor` fits). One session per record, so a value has the same placeholder in the
 * prompt and the response.
 */
export interface ContentMasker {
  session(): { mask(text: string): string };
}

const SHAPES = SECRET_SHAPES.map(secretRegex);

/** Last line of defence on every kept text: credential shapes and the literal provider keys. */
export class SecretScrubber {
  private readonly secrets: string[];

  /** `secrets`: literal values (provider keys from config) that must never be written. */
  constructor(secrets: readonly string[] = []) {
    // Longest first so a key that contains another is replaced whole.
    this.secrets = [...new Set(secrets.filter((s) => s.length >= 8))].sort((a, b) => b.length - a.length);
  }

  scrub(text: string): string {
    let out = text;
    for (const re of SHAPES) out = out.replace(re, '[REDACTED]');
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('[REDACTED]');
    return out;
  }
}

/** How kept text is filtered: masked by redaction (default), or only scrubbed ('raw'). */
function keeper(
  content: AuditConfig['content'],
  scrubber: SecretScrubber,
  masker: ContentMasker | undefined,
): (text: string) => string {
  if (content === 'raw') return (t) => scrubber.scrub(t);
  if (!masker) {
    // Prompt and response text is never kept unmasked by accident. Raw output on
    // SCHEMA_VIOLATION under 'hash'/'omit' is then scrubbed only; startColo always
    // gives AuditLog a masker, so served records are masked.
    if (content === 'full')
      throw new ColoError('INTERNAL', "audit content 'full' needs a masker (AuditLogOptions.masker)");
    return (t) => scrubber.scrub(t);
  }
  let session: { mask(text: string): string } | undefined;
  return (t) => {
    session ??= masker.session();
    return scrubber.scrub(session.mask(t));
  };
}

function promptText(req: InferenceRequest): string {
  return req.prompt ?? JSON.stringify(req.messages ?? []);
}

/**
 * Builds the record. With content 'full' (and for raw output unless 'raw') `masker` is
 * required: without it the text would be written unmasked.
 */
export function buildAuditRecord(
  input: AuditInput,
  cfg: Pick<AuditConfig, 'content'>,
  scrubber: SecretScrubber,
  masker?: ContentMasker,
): AuditRecord {
  const { req, result } = input;
  const err = input.error === undefined ? undefined : toColoError(input.error);
  const rec: AuditRecord = {
    v: 1,
    ts: (input.at ?? new Date()).toISOString(),
    requestId: req.id,
    tenant: req.tenant ?? '',
    keyId: req.keyId ?? '',
    model: req.model,
    skill: req.skill,
    route: result
      ? {
          kind: result.route.kind,
          provider: result.route.provider,
          model: result.route.model,
          cached: result.route.cached,
        }
      : undefined,
    // A request that ended without a result is recorded with what it used (err.usage).
    tokens: {
      prompt: result?.usage.promptTokens ?? err?.usage?.promptTokens ?? 0,
      completion: result?.usage.completionTokens ?? err?.usage?.completionTokens ?? 0,
    },
    cost: input.cost ?? 0,
    latencyUs: {
      queue: result?.timings.queueUs ?? 0,
      ttft: result?.timings.ttftUs ?? 0,
      total: result?.timings.totalUs ?? 0,
    },
    status: err ? 'error' : 'ok',
    errorCode: err?.code,
    finishReason: result?.finishReason,
    redacted: input.redacted,
  };
  const keep = keeper(cfg.content, scrubber, masker);
  if (cfg.content === 'full' || cfg.content === 'raw') {
    rec.prompt =
      req.prompt !== undefined
        ? keep(req.prompt)
        : req.messages?.map((m) => ({ role: m.role, content: keep(m.content) }));
    if (result) rec.response = keep(result.text);
  } else if (cfg.content === 'hash') {
    rec.promptSha256 = sha256(promptText(req));
    if (result) rec.responseSha256 = sha256(result.text);
  }
  if (err?.code === 'SCHEMA_VIOLATION' && input.rawOutput !== undefined)
    rec.rawOutput = keep(input.rawOutput);
  return rec;
}
