/**
 * The dummy provider's "API": the target's model name picks the behaviour, so
 * tests and benches configure faults exactly like real targets.
 *
 * | model            | behaviour                                                        |
 * |------------------|------------------------------------------------------------------|
 * | `echo`           | streams the last user text back, one word per chunk              |
 * | `slow[:ms]`      | like echo, waiting `ms` (default 10) before each chunk           |
 * | `error[:status]` | fails like an upstream answering `status` (default 500)          |
 * | `stall`          | accepts the request, then never sends a token until cancelled    |
 * | `truncate[:n]`   | sends `n` (default 2) words of echo, then ends without finishing |
 */
import type { UnifiedRequest } from '../types';

export type DummyBehaviour =
  | { kind: 'echo'; delayMs: number }
  | { kind: 'error'; status: number }
  | { kind: 'stall' }
  | { kind: 'truncate'; after: number };

export function parseModel(model: string): DummyBehaviour | null {
  const [name, arg] = model.split(':', 2) as [string, string | undefined];
  const num = arg === undefined ? undefined : Number(arg);
  if (num !== undefined && !Number.isFinite(num)) return null;
  switch (name) {
    case 'echo':
      return { kind: 'echo', delayMs: 0 };
    case 'slow':
      return { kind: 'echo', delayMs: num ?? 10 };
    case 'error':
      return { kind: 'error', status: num ?? 500 };
    case 'stall':
      return { kind: 'stall' };
    case 'truncate':
      return { kind: 'truncate', after: num ?? 2 };
    default:
      return null;
  }
}

/** The words echoed back: the prompt or the last user message, split keeping spaces. */
export function echoWords(req: UnifiedRequest): string[] {
  let text = req.prompt;
  if (text === undefined && req.messages) {
    for (let i = req.messages.length - 1; i >= 0; i--) {
      if (req.messages[i]!.role === 'user') {
        text = req.messages[i]!.content;
        break;
      }
    }
  }
  if (!text) text = 'ok';
  return text.match(/\s*\S+/g) ?? [text];
}
