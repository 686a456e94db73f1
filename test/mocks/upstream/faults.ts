/**
 * Faults the mock upstream can inject. Chosen per request (header `x-mock-fault`, so a
 * gateway target can carry one in its static `headers`), from a queue for the next
 * requests (`failNext`), or for the whole server (`setFault`), in that precedence.
 *
 * Header grammar: `name[=arg][;key=value...]`, e.g. `429;retry-after=1`, `stall-mid=2`.
 */
export type Fault =
  | { kind: 'none' }
  /**
   * Non-2xx status with an error body; `retryAfter` and `shouldRetry` are sent verbatim
   * (`retry-after`, `x-should-retry`); `echoAuth` puts the received credentials in the body.
   */
  | {
      kind: 'status';
      status: number;
      retryAfter?: string | undefined;
      shouldRetry?: string | undefined;
      echoAuth?: boolean;
    }
  /** Destroy the socket without answering (connection reset). */
  | { kind: 'reset' }
  /** Accept the request, never send headers. */
  | { kind: 'stall-headers' }
  /** Wait `ms` before sending headers, then answer normally. */
  | { kind: 'delay'; ms: number }
  /** Send `after` events, then hang with the connection open. */
  | { kind: 'stall-mid'; after: number }
  /** Send `after` events, then end the response cleanly but early (no final chunk). */
  | { kind: 'cut'; after: number }
  /** Send `after` events, then destroy the socket mid-body. */
  | { kind: 'drop'; after: number }
  /** A stream event whose data is not JSON. */
  | { kind: 'malformed-sse' }
  /** A 200 whose body is not valid JSON. */
  | { kind: 'invalid-json' }
  /** Wait `ms` between stream events. */
  | { kind: 'drip'; ms: number }
  /** Write the body `bytes` bytes at a time, yielding between writes (chunk boundaries anywhere). */
  | { kind: 'fragment'; bytes: number };

export const NO_FAULT: Fault = { kind: 'none' };

export function parseFault(spec: string): Fault {
  const [head = '', ...opts] = spec.split(';').map((s) => s.trim());
  const [name = '', arg] = head.split('=');
  const kv = new Map(opts.map((o) => o.split('=') as [string, string | undefined]));
  const n = (d: number): number => (arg === undefined ? d : Number(arg));
  if (/^\d{3}$/.test(name)) {
    return {
      kind: 'status',
      status: Number(name),
      retryAfter: kv.get('retry-after'),
      shouldRetry: kv.get('should-retry'),
      echoAuth: kv.has('echo-auth'),
    };
  }
  switch (name) {
    case 'none':
    case '':
      return NO_FAULT;
    case 'reset':
    case 'stall-headers':
    case 'malformed-sse':
    case 'invalid-json':
      return { kind: name };
    case 'delay':
      return { kind: 'delay', ms: n(100) };
    case 'stall-mid':
      return { kind: 'stall-mid', after: n(2) };
    case 'cut':
      return { kind: 'cut', after: n(2) };
    case 'drop':
      return { kind: 'drop', after: n(2) };
    case 'drip':
      return { kind: 'drip', ms: n(20) };
    case 'fragment':
      return { kind: 'fragment', bytes: n(3) };
    default:
      throw new Error(`unknown mock fault '${spec}'`);
  }
}
