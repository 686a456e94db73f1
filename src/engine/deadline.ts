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

/**
 * A request's prompt as one text, for comparing starts with what the workers' sequences
 * hold (src/engine/cache-mirror.ts): the prompt, or the chat's messages in order (the
 * worker renders them with the model's template; two chats that start alike render alike).
 */
export function promptText(req: Pick<InferenceRequest, 'prompt' | 'messages'>): string {
  if (req.prompt !== undefined) return req.prompt;
  let text = '';
  for (const m of req.messages ?? []) text += `${m.role}\n${m.content}\n`;
  return text;
}
