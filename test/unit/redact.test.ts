import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { InferenceRequest } from '../../src/core/types';
import { buildDetectors, detect, ibanValid, luhnValid, redactConfigSchema, Redactor } from '../../src/redact';

const cfg = redactConfigSchema.parse({});
const detectors = buildDetectors(cfg);
const found = (text: string): [string, string][] =>
  detect(text, detectors).map((s) => [s.type, text.slice(s.start, s.end)]);

/** RFC 4180-ish: quoted fields may hold commas, doubled quotes and newlines. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (q) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') q = false;
      else field += c;
    } else if (c === '"') q = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else if (c !== '\r') field += c;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows;
}

describe('check digits', () => {
  it('Luhn accepts valid card numbers and rejects a one-digit change', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('5500005555555559')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
  });
  it('IBAN mod-97 accepts real examples and rejects a typo', () => {
    expect(ibanValid('DE89 3704 0044 0532 0130 00')).toBe(true);
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanValid('GB82WEST12345698765433')).toBe(false);
    expect(ibanValid('DE89')).toBe(false);
  });
});

describe('detectors', () => {
  it('finds e-mails, phones, IBANs, cards and account numbers', () => {
    expect(found('mail jane.doe+desk@bank.example.co.uk now')).toEqual([
      ['EMAIL', 'jane.doe+desk@bank.example.co.uk'],
    ]);
    for (const p of [
      '+1 212 555 0123',
      '+44 20 7946 0958',
      '+49 30 12345678',
      '+33 1 42 68 53 00',
      '(212) 555-0123',
      '212-555-0123',
      '212.555.0123',
      '020 7946 0958',
      '+1-212-555-0123',
    ]) {
      expect(found(`call ${p} today`), p).toEqual([['PHONE', p]]);
    }
    expect(found('wire to DE89 3704 0044 0532 0130 00 pls')).toEqual([
      ['IBAN', 'DE89 3704 0044 0532 0130 00'],
    ]);
    expect(found('card 4111 1111 1111 1111 exp')).toEqual([['CARD', '4111 1111 1111 1111']]);
    expect(found('card 4111-1111-1111-1111.')).toEqual([['CARD', '4111-1111-1111-1111']]);
    expect(found('Account No. 12345678 at desk')).toEqual([['ACCOUNT', '12345678']]);
    expect(found('acct# 0042-778812')).toEqual([['ACCOUNT', '0042-778812']]);
  });

  it('leaves financial numbers alone: prices, percentages, dates, ranges, counts, tickers', () => {
    const safe = [
      '$AAPL up 3.5% to $182.50',
      'S&P 500 closes at 4,500.25, +0.8%',
      'EUR/USD 1.0850 -0.25%',
      'Results due 2024-01-15 and 01/02/2024 at 10:30',
      'Guidance 3.00-5.00, range 2019-2024, dated 25.11.2019 and 11-22-2019',
      'Bought 1,234,567 shares for $12,345,678.90',
      'Futures 3107.50-3108 +12.25 (+0.4%)',
      'ISIN US0378331005, CUSIP 037833100',
      'Order id 4111111111111112 rejected', // fails Luhn
      'IBAN-like GB82WEST12345698765433', // fails mod-97
      'Q3 EPS $1.23 vs $1.10 est; revenue $89.5B',
      'Fed funds 5.25-5.50; 10y 4.312%',
    ];
    for (const s of safe) expect(found(s), s).toEqual([]);
  });

  it('detects credentials by default: sk-/sk-live- keys, AWS key ids, bearer tokens, JWTs, private-key blocks', () => {
    const jwt =
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
    const pem =
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bq\nq3J0ZmNvbG8=\n-----END RSA PRIVATE KEY-----';
    const cases: [string, string][] = [
      ['key sk-proj-Ab3dEf6hIj9kLm2nOp5q, go', 'sk-proj-Ab3dEf6hIj9kLm2nOp5q'],
      ['live sk-live-4eC39HqLyjWDarjtT1zdp7dc here', 'sk-live-4eC39HqLyjWDarjtT1zdp7dc'],
      ['stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc.', 'sk_live_4eC39HqLyjWDarjtT1zdp7dc'],
      ['aws AKIAIOSFODNN7EXAMPLE in the env', 'AKIAIOSFODNN7EXAMPLE'],
      [
        'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      ],
      ['Authorization: Bearer abcDEF123456ghiJKL789.xyz', 'abcDEF123456ghiJKL789.xyz'],
      [`token ${jwt} ok`, jwt],
      [`here:\n${pem}\nthanks`, pem],
      ['cut -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg', '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg'],
      ['gh ghp_0123456789abcdefghijABCDEFGHIJ0123456789 x', 'ghp_0123456789abcdefghijABCDEFGHIJ0123456789'],
    ];
    for (const [text, secret] of cases) expect(found(text), text).toEqual([['SECRET', secret]]);
    const r = new Redactor(cfg).redactRequest({
      id: 'r',
      model: 'm',
      prompt: `use sk-live-4eC39HqLyjWDarjtT1zdp7dc and ${jwt}`,
      sampling: { maxTokens: 1, temperature: 0, topP: 1, stop: [] },
      deadlineMs: 0,
      priority: 0,
      stream: false,
    });
    expect(r.request.prompt).toBe('use <SECRET_1> and <SECRET_2>');
    expect(r.session.restore('got <SECRET_1>')).toBe('got sk-live-4eC39HqLyjWDarjtT1zdp7dc');
  });

  it('leaves look-alikes alone: short sk- words, ASIA/AKIA in prose, "bearer" in prose', () => {
    for (const text of [
      'risk-adjusted returns; sk-short',
      'ASIA markets rally; AKIA is not a key',
      'the bearer of bad news',
      'eyJ alone is not a token',
      'BEGIN PRIVATE talks',
    ])
      expect(found(text), text).toEqual([]);
    expect(found('key sk-live-4eC39HqLyjWDarjtT1zdp7dc')).toHaveLength(1);
    const off = buildDetectors(redactConfigSchema.parse({ detectors: { secret: false } }));
    expect(detect('sk-live-4eC39HqLyjWDarjtT1zdp7dc', off)).toEqual([]);
  });

  it('custom patterns get their own label; account patterns are configurable', () => {
    const r = new Redactor(
      redactConfigSchema.parse({
        custom: [{ name: 'TRADER', pattern: String.raw`\bTRD-\d{4}\b` }],
        accountPatterns: [String.raw`\bportfolio (\d{5})\b`],
      }),
    );
    expect(r.maskText('TRD-0042 moved portfolio 77123; account 12345678 untouched')).toBe(
      '<TRADER_1> moved portfolio <ACCOUNT_1>; account 12345678 untouched',
    );
    expect(() => redactConfigSchema.parse({ custom: [{ name: 'X', pattern: '(' }] })).toThrow();
    expect(() => redactConfigSchema.parse({ custom: [{ name: 'lower', pattern: 'x' }] })).toThrow();
  });

  // Regression: the phone detector must not fire on real financial headlines.
  it('has no false positives on the labelled financial headlines (valid.csv)', () => {
    const path = resolve(__dirname, '../../../shared/data/twitter-financial-news-sentiment/valid.csv');
    const alt = '/work/shared/data/twitter-financial-news-sentiment/valid.csv';
    const file = existsSync(path) ? path : alt;
    expect(existsSync(file), `${file} missing`).toBe(true);
    const rows = parseCsv(readFileSync(file, 'utf8'))
      .slice(1)
      .filter((r) => r.length === 2);
    expect(rows.length).toBeGreaterThan(2000);
    const hits = rows.flatMap(([text]) => found(text!).map(([type, v]) => `${type}:${v} in ${text}`));
    // Reported in src/redact/README.md; any new hit here is a false positive to look at.
    expect(hits).toEqual([]);
  });
});

describe('masking and restoring', () => {
  const base: InferenceRequest = {
    id: 'r',
    model: 'gpt',
    messages: [
      { role: 'system', content: 'Desk contact: ops@fund.example' },
      { role: 'user', content: 'Email ops@fund.example and bob@fund.example, call +44 20 7946 0958.' },
    ],
    sampling: { maxTokens: 10, temperature: 0, topP: 1, stop: [] },
    deadlineMs: 0,
    priority: 0,
    stream: true,
  };

  it('uses one stable placeholder per value across the prompt and all messages', () => {
    const r = new Redactor(cfg);
    const { request, session, changed } = r.redactRequest({ ...base, prompt: 'cc ops@fund.example' });
    expect(changed).toBe(true);
    expect(request.prompt).toBe('cc <EMAIL_1>');
    expect(request.messages![0]!.content).toBe('Desk contact: <EMAIL_1>');
    expect(request.messages![1]!.content).toBe('Email <EMAIL_1> and <EMAIL_2>, call <PHONE_1>.');
    expect(base.messages![1]!.content).toContain('bob@fund.example'); // the original is untouched
    expect(session.restore('Sent to <EMAIL_2> and <EMAIL_1>; <EMAIL_9> unknown')).toBe(
      'Sent to bob@fund.example and ops@fund.example; <EMAIL_9> unknown',
    );
  });

  it('restores placeholders split across streamed chunks, at every split point', () => {
    const r = new Redactor(cfg);
    const { session } = r.redactRequest(base);
    const answer = 'Reply to <EMAIL_2> or <PHONE_1>; keep <b>bold</b> and a<b, also <EMAIL_1>';
    const want =
      'Reply to bob@fund.example or +44 20 7946 0958; keep <b>bold</b> and a<b, also ops@fund.example';
    for (let i = 0; i <= answer.length; i++) {
      for (const j of [i, Math.min(answer.length, i + 3)]) {
        const rs = session.createRestorer();
        const out =
          rs.push(answer.slice(0, i)) + rs.push(answer.slice(i, j)) + rs.push(answer.slice(j)) + rs.flush();
        expect(out, `split at ${i},${j}`).toBe(want);
      }
    }
    // One character at a time.
    const rs = session.createRestorer();
    let out = '';
    for (const ch of answer) out += rs.push(ch);
    expect(out + rs.flush()).toBe(want);
  });

  it('does not delay text that cannot become a placeholder', () => {
    const { session } = new Redactor(cfg).redactRequest(base);
    const rs = session.createRestorer();
    expect(rs.push('plain text ')).toBe('plain text ');
    expect(rs.push('x < y')).toBe('x < y');
    expect(rs.push('then <EMA')).toBe('then ');
    expect(rs.push('IL_1> done')).toBe('ops@fund.example done');
  });

  it('applies to remote routes only unless configured', () => {
    expect(new Redactor(cfg).appliesTo('remote')).toBe(true);
    expect(new Redactor(cfg).appliesTo('local')).toBe(false);
    expect(new Redactor(redactConfigSchema.parse({ applyTo: 'all' })).appliesTo('local')).toBe(true);
    expect(new Redactor(redactConfigSchema.parse({ enabled: false })).appliesTo('remote')).toBe(false);
  });
});
