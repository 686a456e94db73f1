/**
 * Calls to a shared dependency (Redis, for auth, quotas and the cache) that fail the
 * way a client can act on: while the dependency is down, at once with `UNAVAILABLE`
 * and a retry-after, never a raw client error (which became a 500) and never a wait
 * in the client's offline queue. Readiness reads the same state.
 *
 * The state comes from the client's own connection events (ioredis's `Redis` fits the
 * interface): down from `close`/`end` until the next `ready`. A reply error (the
 * server answered, e.g. a script error) is not an outage and passes through.
 */
import { ColoError } from './errors';

/** A client whose connection state can be read. */
export interface DependencyClient {
  /** ioredis: 'wait' | 'connecting' | 'connect' | 'ready' | 'reconnecting' | 'close' | 'end'. */
  readonly status: string;
  on(event: 'ready' | 'close' | 'end', listener: () => void): unknown;
}

/** How long a client is told to wait before retrying. */
export const DEPENDENCY_RETRY_AFTER_MS = 1000;

interface State {
  up: boolean;
  /** Date.now() of the last change. */
  since: number;
}

const DOWN = new Set(['reconnecting', 'close', 'end']);
const OUTAGE_REPLIES = /^(?:LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY)\b/;
const states = new WeakMap<object, State>();

function track(client: DependencyClient): State {
  let s = states.get(client);
  if (!s) {
    const st: State = { up: !DOWN.has(client.status), since: Date.now() };
    const set = (up: boolean) => () => {
      if (st.up !== up) {
        st.up = up;
        st.since = Date.now();
      }
    };
    client.on('ready', set(true));
    client.on('close', set(false));
    client.on('end', set(false));
    states.set(client, st);
    s = st;
  }
  return s;
}

/** Whether the dependency is connected, and since when (Date.now() ms) that holds. */
export function dependencyState(client: DependencyClient): { up: boolean; since: number } {
  const s = track(client);
  return { up: s.up, since: s.since };
}

export function unavailable(name: string, cause?: unknown): ColoError {
  return new ColoError('UNAVAILABLE', `${name} is unavailable; retry later`, {
    retryAfterMs: DEPENDENCY_RETRY_AFTER_MS,
    cause,
  });
}

/** Runs `fn` against the dependency: UNAVAILABLE while it is down or when the call cannot reach it. */
export async function callDependency<T>(
  name: string,
  client: DependencyClient,
  fn: () => Promise<T>,
): Promise<T> {
  if (!track(client).up) throw unavailable(name);
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ColoError) throw err;
    const e = err as { name?: unknown; message?: unknown } | null;
    // The server answered: a bug (script error, wrong type) is not an outage, but a
    // server that is loading, has lost its primary or is busy is.
    if (e?.name === 'ReplyError' && !OUTAGE_REPLIES.test(String(e.message))) throw err;
    throw unavailable(name, err);
  }
}
