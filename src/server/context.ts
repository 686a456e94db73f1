/** What the server needs from the rest of Colo, injected so this folder stays the uWS layer only. */
import type { ServerConfig } from '../config';
import type { ProtocolConfig } from '../protocol';
import type { InferenceRequest, CompletionResult, TokenSink } from '../core/types';

export interface Principal {
  tenant: string;
  keyId: string;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** A request handler for routes other folders own (admin API, skills): plain data in and out. */
export interface RouteRequest {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: unknown;
  principal: Principal | undefined;
}
export interface RouteResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}
export type ExtraRoute = {
  method: 'get' | 'post' | 'put' | 'del' | 'any';
  pattern: string;
  /** Skip API-key auth (the handler checks its own, e.g. the admin key). */
  public?: boolean;
  handle(req: RouteRequest): Promise<RouteResponse>;
};

export interface ServerContext {
  config: ServerConfig;
  protocol: ProtocolConfig;
  log: Logger;
  complete(req: InferenceRequest, sink: TokenSink | null, signal: AbortSignal, api: string, principal: Principal | undefined): Promise<CompletionResult>;
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
