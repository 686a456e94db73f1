/**
 * Waiting on state, never on time. `waitFor` re-checks a condition (state driven by
 * timers, sockets or worker threads that has no event to await) until it holds; the
 * limit only bounds a test that would otherwise hang, it never decides the outcome of
 * one that passes. A bare `setTimeout(r, N)` deciding an outcome flakes on a loaded
 * 2-core machine (issue 15).
 */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string,
  limitMs = 20_000,
): Promise<void> {
  const end = Date.now() + limitMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Reads an SSE body event by event (`data:` payloads); `next()` resolves on the next one. */
export function sseReader(body: ReadableStream<Uint8Array>): {
  next(): Promise<string | undefined>;
  rest(): Promise<string[]>;
} {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const queue: string[] = [];
  let ended = false;
  const pull = async (): Promise<void> => {
    const { value, done } = await reader.read();
    if (done) {
      ended = true;
      return;
    }
    buf += decoder.decode(value, { stream: true });
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, i);
      buf = buf.slice(i + 2);
      for (const line of event.split('\n')) if (line.startsWith('data:')) queue.push(line.slice(5).trim());
    }
  };
  const next = async (): Promise<string | undefined> => {
    while (queue.length === 0 && !ended) await pull();
    return queue.shift();
  };
  return {
    next,
    async rest() {
      const out: string[] = [];
      for (let e = await next(); e !== undefined; e = await next()) out.push(e);
      return out;
    },
  };
}
