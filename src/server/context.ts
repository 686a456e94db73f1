/** What the server needs from the rest of Colo, injected so this folder stays the uWS layer only. */
import type { ServerConfig } from '../config';
import type { ProtocolConfig } from '../protocol';
import type { InferenceRequest, CompletionResult, TokenSink } from '../core/types';

export type { Principal } from '../core/routes';
import type { Principal } from '../core/routes';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export type { ExtraRoute, RouteRequest, RouteResponse } from '../core/routes';
import type { ExtraRoute } from '../core/routes';

export interface ServerContext {
  config: ServerConfig;
  protocol: ProtocolConfig;
  log: Logger;
  complete(
    req: InferenceRequest,
    sink: TokenSink | null,
    signal: AbortSignal,
    api: string,
    principal: Principal | undefined,
  ): Promise<CompletionResult>;
  /** Throws UNAUTHENTICATED when auth is configured and the credential is missing or wrong; undefined when auth is off. */
  authenticate(credential: string | undefined): Promise<Principal | undefined>;
  models(): { id: string; ownedBy: string }[];
  ready(): boolean;
  metricsText(): string;
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
