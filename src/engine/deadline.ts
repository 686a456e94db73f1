/**
 * The engine's one reading of a request's deadline (src/core/deadline.ts makes it
 * absolute at the edge; a request built without it, e.g. by a test or a bench, falls
 * back to receivedAt + deadlineMs here, and nowhere else).
 */
import { absoluteDeadline } from '../core/deadline';
import { promptChars as textChars, type InferenceRequest } from '../core/types';

export function deadlineOf(req: InferenceRequest, receivedAt: number): number {
  return req.deadlineAt ?? absoluteDeadline(req.receivedAt ?? receivedAt, req.deadlineMs, 0);
}

/** Characters of prompt text (chat messages with a little for their template), for the token estimate. */
export const promptChars = (req: InferenceRequest): number => textChars(req, 8);

/** Characters of a prompt's start that name its family (see ServiceEstimator's evalShare). */
const FAMILY_CHARS = 128;

/**
 * The start of a request's prompt text (the prompt, or the first message: a chat's
 * system prompt): requests that share it share a cacheable prefix, so the estimator
 * learns per family what share of the prompt a request evaluates.
 */
export const promptFamily = (req: InferenceRequest): string =>
  (req.prompt ?? req.messages?.[0]?.content ?? '').slice(0, FAMILY_CHARS);
