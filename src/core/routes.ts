/**
 * HTTP routes that feature folders (admin API, skills, classifiers) publish as plain
 * data in and out; src/server registers them on uWS. Kept in core so those folders
 * never import the server.
 */
/** The authenticated caller (src/auth fills it in). */
export interface Principal {
  tenant: string;
  keyId: string;
  keyName: string;
  /** The tenant may use remote providers. */
  allowRemote: boolean;
  /** True when auth is disabled and everyone is the default tenant. */
  anonymous: boolean;
}

/** A request handler for routes other folders own (admin API, skills): plain data in and out. */
export interface RouteRequest {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: unknown;
  principal: Principal | undefined;
  /** Aborted when the client disconnects before the answer is sent. */
  signal: AbortSignal;
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
