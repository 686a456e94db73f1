/**
 * HTTP routes that feature folders (admin API, skills, classifiers) publish as plain
 * data in and out; src/server registers them on uWS. Kept in core so those folders
 * never import the server.
 *
 * Two kinds, so that no route can run a model around the pipeline:
 * - a `CallRoute` runs a model: it only maps the HTTP body to a `CallInput` and the
 *   result back to a body. The server runs the call through the one pipeline (auth,
 *   quota, route, settle, audit); the route never sees a runner.
 * - a `PlainRoute` (catalogues, admin) gets no runner and cannot run a model.
 */
import type { CallApi, CallInput } from './call';
import type { CompletionResult } from './types';
import type { CancelSignal } from './cancel';
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
  signal: CancelSignal;
}
export interface RouteResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}
export interface PlainRoute {
  kind?: 'plain';
  method: 'get' | 'post' | 'put' | 'del' | 'any';
  pattern: string;
  /** Skip API-key auth (the handler checks its own, e.g. the admin key). */
  public?: boolean;
  handle(req: RouteRequest): Promise<RouteResponse>;
}

/** A POST route that runs a model; see the file comment. Always authenticated. */
export interface CallRoute {
  kind: 'call';
  method: 'post';
  pattern: string;
  /** Where the call came in (a bounded metric label). */
  api: CallApi;
  /** HTTP body → the validator's input. Throws INVALID_ARGUMENT (field named) on a bad shape. */
  toCall(req: RouteRequest, receivedAt: number): CallInput;
  /** The result → the response body. */
  render(result: CompletionResult, input: CallInput): unknown;
  /** A valid body (with `{model}` or `{skill}` names filled by the test), for the route conformance test and docs. */
  example: Record<string, unknown>;
}

export type ExtraRoute = PlainRoute | CallRoute;
