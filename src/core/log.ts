/**
 * A small structured logger: one JSON line per event on stderr (or pretty text on a
 * TTY). Field values that look like credentials are masked, so a key passed by
 * mistake never reaches the log.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const SECRET_KEY = /(key|token|secret|password|authorization)/i;
const SECRET_VALUE =
  /\b(colo_[A-Za-z0-9_-]{8,}|sk-[A-Za-z0-9_-]{8,}|sk-ant-[A-Za-z0-9_-]{8,}|AIza[A-Za-z0-9_-]{20,})\b/g;

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export function scrub(value: unknown, key = ''): unknown {
  if (typeof value === 'string')
    return SECRET_KEY.test(key) && !/(keyid|tokens)/i.test(key)
      ? '[redacted]'
      : value.replace(SECRET_VALUE, '[redacted]');
  if (Array.isArray(value)) return value.map((v) => scrub(v));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = scrub(v, k);
    return out;
  }
  return value;
}

export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (l) => process.stderr.write(l + '\n'),
): Logger {
  const min = RANK[level];
  const pretty = process.stderr.isTTY === true;
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[lvl] < min) return;
    const safe = fields ? (scrub(fields) as Record<string, unknown>) : undefined;
    const text = scrub(msg) as string;
    if (pretty) {
      const extra = safe
        ? ' ' +
          Object.entries(safe)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ')
        : '';
      write(`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${text}${extra}`);
    } else write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg: text, ...safe }));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}
