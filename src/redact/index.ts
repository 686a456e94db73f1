/** Redaction of sensitive values before remote calls, with restoring of answers. See README.md. */
export {
  redactConfigSchema,
  customPatternSchema,
  DEFAULT_ACCOUNT_PATTERN,
  type RedactConfig,
} from './config';
export { Redactor, type Redacted } from './redactor';
export { RedactionSession, StreamRestorer } from './session';
export { buildDetectors, detect, type Detector, type Span } from './detectors';
export { ibanValid, luhnValid } from './checks';
