/**
 * The audit record and how one is built from a finished (or failed) request. Records
 * are assembled field by field from an explicit list — never by spreading a request,
 * headers or an error — so provider keys and API keys cannot ride along; free text that
 * is kept (prompts, responses, raw output in 'full' mode) is scrubbed of secrets too.
 */
import { createHash } from 'node:crypto';
import { toColoError, type ErrorCode } from '../core/errors';
import type { ChatMessage, CompletionResult, InferenceRequest, RouteKind } from '../core/types';
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
  /** Cost in the gateway's unit; default 0. */
  cost?: number | undefined;
  /** The model's raw output, for SCHEMA_VIOLATION. */
  rawOutput?: string | undefined;
  redacted?: boolean | undefined;
  /** Finish time; default now. */
  at?: Date | undefined;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** Secret shapes scrubbed from kept text even when not configured: OpenAI/Anthropic-style keys, Colo keys, bearer tokens. */
const SECRET_SHAPES =
  /\b(?:sk-(?:ant-)?[A-Za-z0-9_-]{16,}|colo_[0-9A-Za-z]{32}|AIza[0-9A-Za-z_-]{30,})\b|\b[Bb]earer\s+[A-Za-z0-9._~+/=-]{16,}/g;

export class SecretScrubber {
  private readonly secrets: string[];

  /** `secrets`: literal values (provider keys from config) that must never be written. */
  constructor(secrets: readonly string[] = []) {
    // Longest first so a key that contains another is replaced whole.
    this.secrets = [...new Set(secrets.filter((s) => s.length >= 8))].sort((a, b) => b.length - a.length);
  }

  scrub(text: string): string {
    let out = text.replace(SECRET_SHAPES, '[REDACTED]');
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('[REDACTED]');
    return out;
  }
}

function promptText(req: InferenceRequest): string {
  return req.prompt ?? JSON.stringify(req.messages ?? []);
}

export function buildAuditRecord(
  input: AuditInput,
  cfg: Pick<AuditConfig, 'content'>,
  scrubber: SecretScrubber,
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
  if (cfg.content === 'full') {
    rec.prompt =
      req.prompt !== undefined
        ? scrubber.scrub(req.prompt)
        : req.messages?.map((m) => ({ role: m.role, content: scrubber.scrub(m.content) }));
    if (result) rec.response = scrubber.scrub(result.text);
  } else if (cfg.content === 'hash') {
    rec.promptSha256 = sha256(promptText(req));
    if (result) rec.responseSha256 = sha256(result.text);
  }
  if (err?.code === 'SCHEMA_VIOLATION' && input.rawOutput !== undefined)
    rec.rawOutput = scrubber.scrub(input.rawOutput);
  return rec;
}
