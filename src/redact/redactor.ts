/**
 * Applies redaction to a request on its way to a remote route: masks the prompt and
 * every message, and hands back the session that restores the answer.
 */
import { redactionChannel } from '../core/events';
import type { InferenceRequest, RouteKind } from '../core/types';
import type { RedactConfig } from './config';
import { buildDetectors, type Detector } from './detectors';
import { RedactionSession } from './session';

export interface Redacted {
  /** A copy of the request with sensitive values replaced by placeholders. */
  request: InferenceRequest;
  session: RedactionSession;
  /** Whether anything was masked. */
  changed: boolean;
}

export class Redactor {
  private readonly detectors: Detector[];

  constructor(private readonly cfg: RedactConfig) {
    this.detectors = buildDetectors(cfg);
  }

  /** Whether requests on this route are redacted ('remote' only unless applyTo is 'all'). */
  appliesTo(route: RouteKind): boolean {
    if (!this.cfg.enabled || this.detectors.length === 0) return false;
    return this.cfg.applyTo === 'all' || route === 'remote';
  }

  /** Whether answers should be mapped back to the originals. */
  get restores(): boolean {
    return this.cfg.restore;
  }

  session(): RedactionSession {
    return new RedactionSession(this.detectors);
  }

  /** Masks `text` with a fresh session (for one-off use, e.g. the bench). */
  maskText(text: string): string {
    return this.session().mask(text);
  }

  redactRequest(req: InferenceRequest): Redacted {
    const session = this.session();
    const prompt = req.prompt === undefined ? undefined : session.mask(req.prompt);
    const messages = req.messages?.map((m) => ({ role: m.role, content: session.mask(m.content) }));
    if (redactionChannel.hasSubscribers) redactionChannel.publish({ values: session.size });
    return { request: { ...req, prompt, messages }, session, changed: session.size > 0 };
  }
}
