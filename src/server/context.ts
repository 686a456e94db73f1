/** What the server needs from the rest of Colo, injected so this folder stays the uWS layer only. */
import type { ServerConfig } from '../config';
import type { ProtocolConfig } from '../protocol';
import type { CallApi, CallInput } from '../core/call';
import type { CompletionResult, TokenSink } from '../core/types';

export type { Principal } from '../core/routes';
import type { Principal } from '../core/routes';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export type { CallRoute, ExtraRoute, PlainRoute, RouteRequest, RouteResponse } from '../core/routes';
import type { ExtraRoute } from '../core/routes';
import type { ObserveRoutes } from './observe';
import type { CancelSignal } from '../core/cancel';

export interface ServerContext {
  config: ServerConfig;
  protocol: ProtocolConfig;
  log: Logger;
  /**
   * The one pipeline (src/app/pipeline.ts): validate, authorize, reserve, run, settle,
   * audit. The only way the server runs a model. Rejects with a ColoError.
   */
  execute(
    input: CallInput,
    api: CallApi,
    principal: Principal | undefined,
    sink: TokenSink | null,
    signal: CancelSignal,
  ): Promise<CompletionResult>;
  /** Throws UNAUTHENTICATED when auth is configured and the credential is missing or wrong; undefined when auth is off. */
  authenticate(credential: string | undefined): Promise<Principal | undefined>;
  models(): { id: string; ownedBy: string }[];
  /** Whether every dependency in use is up (models loaded, Redis reachable) and not draining. */
  ready(): boolean;
  metricsText(): string;
  /** Who may read /metrics, the dashboard (src/server/observe.ts). Default: /metrics open, no dashboard. */
  observe?: ObserveRoutes | undefined;
  extraRoutes: ExtraRoute[];
}

/** API key from `Authorization: Bearer`, `x-api-key`, or (WebSocket only, for browsers) `?api_key=`. */
export function credentialOf(h: Record<string, string>, query = ''): string | undefined {
  const auth = h['authorization'];
  if (auth?.toLowerCase().startsWith('bearer ')) return auth.slice(7).trim();
  if (h['x-api-key']) return h['x-api-key'];
  const m = /(?:^|&)api_key=([^&]+)/.exec(query);
  return m ? decodeURIComponent(m[1]!) : undefined;
}
