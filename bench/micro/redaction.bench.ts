/**
 * Redaction of a typical headline on its way to a remote provider: the common case
 * (nothing to mask, every detector still scans), a headline carrying PII, and
 * restoring a streamed answer.
 *
 *   node bench/lib/run.mjs bench/micro/redaction.bench.ts
 */
import { redactConfigSchema, Redactor } from '../../src/redact';
import { runMicro } from '../lib';

const r = new Redactor(redactConfigSchema.parse({}));
const clean =
  '$DELL $HPE - Dell, HPE targets trimmed on compute headwinds, shares -2.4% to $118.50 https://t.co/YRUHZw7cYl';
const pii =
  'Client jane.doe@fund.example (+44 20 7946 0958, IBAN DE89 3704 0044 0532 0130 00) asks: sell $DELL at $118.50?';
const { session } = r.redactRequest({
  id: 'x',
  model: 'm',
  prompt: pii,
  sampling: { maxTokens: 1, temperature: 0, topP: 1, stop: [] },
  deadlineMs: 0,
  priority: 0,
  stream: true,
});
const answerChunks = ['Told <EMA', 'IL_1> to hold; call <PHONE_1>', ' back, funds from <IBAN_1>.'];

await runMicro(
  'redaction',
  [
    { name: 'mask headline, nothing found', fn: () => r.maskText(clean) },
    { name: 'mask headline with e-mail, phone, IBAN', fn: () => r.maskText(pii) },
    {
      name: 'restore 3 streamed chunks',
      fn: () => {
        const rs = session.createRestorer();
        let out = '';
        for (const c of answerChunks) out += rs.push(c);
        return out + rs.flush();
      },
    },
  ],
  {
    check: () => {
      if (r.maskText(clean) !== clean) throw new Error(`false positive: ${r.maskText(clean)}`);
      const masked = r.maskText(pii);
      const want = 'Client <EMAIL_1> (<PHONE_1>, IBAN <IBAN_1>) asks: sell $DELL at $118.50?';
      if (masked !== want) throw new Error(`masked: ${masked}`);
      const rs = session.createRestorer();
      const out = answerChunks.map((c) => rs.push(c)).join('') + rs.flush();
      if (
        out !==
        'Told jane.doe@fund.example to hold; call +44 20 7946 0958 back, funds from DE89 3704 0044 0532 0130 00.'
      )
        throw new Error(`restored: ${out}`);
    },
    meta: { cleanChars: clean.length, piiChars: pii.length },
  },
);
