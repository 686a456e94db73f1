/**
 * Readiness of the dependencies Colo was started with. `/readyz` must say "not
 * ready" while any dependency in use is down (a load balancer then sends traffic to a
 * box that can serve it), and say which. Reading it costs no round trip: the state is
 * the clients' own connection events (src/core/dependency.ts).
 */
import { dependencyState, type DependencyClient } from '../core/dependency';

export interface DependencyHealth {
  name: string;
  ok: boolean;
  /** ISO time of the last change of `ok`. */
  since: string;
}

export interface Health {
  /** True when every dependency in use is up. */
  ok: boolean;
  dependencies: DependencyHealth[];
}

/** Builds the health check over the dependencies in use (none: always ok). */
export function dependencyHealth(deps: { redis?: DependencyClient | undefined }): () => Health {
  const list: [string, DependencyClient][] = [];
  if (deps.redis) list.push(['redis', deps.redis]);
  return () => {
    const dependencies = list.map(([name, client]) => {
      const s = dependencyState(client);
      return { name, ok: s.up, since: new Date(s.since).toISOString() };
    });
    return { ok: dependencies.every((d) => d.ok), dependencies };
  };
}
