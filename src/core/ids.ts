/**
 * Request ids for requests whose client gave none (HTTP). Ids need uniqueness, not
 * secrecy: a random per-process part plus a counter costs a string concat instead of a
 * randomBytes call per request (seen at ~2% of the server's main thread under load,
 * bench/e2e/gateway-peer.ts --profile).
 */
import { randomBytes } from 'node:crypto';

const PROCESS_ID = randomBytes(6).toString('base64url');
let counter = 0;

export function newId(prefix: string): string {
  return `${prefix}-${PROCESS_ID}${(counter++).toString(36)}`;
}
