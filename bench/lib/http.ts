/**
 * JSON over HTTP to a server a bench started: POST a body, get the parsed answer, and
 * stop the bench on any status but 200 (a refused request must not pass as a fast one).
 */
export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A `post(path, body)` against `base` (e.g. `http://127.0.0.1:PORT`). */
export function jsonPoster(base: string): (path: string, body: unknown) => Promise<Json> {
  return async (path, body) => {
    const r = await fetch(`${base}${path}`, { method: 'POST', body: JSON.stringify(body) });
    const j = (await r.json()) as Json;
    if (r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(j)}`);
    return j;
  };
}
