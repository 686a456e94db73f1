import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config';
import { ColoError } from '../../src/core/errors';
import {
  compilePricing,
  costOf,
  costOfRequest,
  limitsConfigSchema,
  MemoryLimiter,
  pricingConfigSchema,
  usdToMicros,
  type Pricing,
} from '../../src/limits';

const TARGETS = [
  { name: 'oai', provider: 'openai', model: 'gpt-4o-mini' },
  { name: 'oai-eu', provider: 'openai', model: 'gpt-4o-mini' },
  { name: 'claude', provider: 'anthropic', model: 'claude-3-5-haiku-latest' },
];

function pricing(): Pricing {
  return compilePricing(
    pricingConfigSchema.parse({
      targets: {
        oai: { inputPerMTok: 0.15, outputPerMTok: 0.6 },
        'oai-eu': { inputPerMTok: 0.2, outputPerMTok: 0.8 },
        claude: { inputPerMTok: 0.8, outputPerMTok: 4 },
      },
      models: { big: { inputPerMTok: 0.01, outputPerMTok: 0.02 } },
    }),
    TARGETS,
    ['stories260K', 'big'],
  );
}

describe('costOf: USD per million tokens → integer micro-dollars', () => {
  it('prices a remote route by its target, input and output separately', () => {
    const usage = { promptTokens: 1000, completionTokens: 500 };
    // 1000 · 0.15 + 500 · 0.6 = 150 + 300 µ$ (float 0.15·1000 must not round up to 151).
    expect(
      costOf(pricing(), { kind: 'remote', provider: 'openai', model: 'gpt-4o-mini', target: 'oai' }, usage),
    ).toBe(450);
    expect(
      costOf(pricing(), { kind: 'remote', provider: 'anthropic', model: 'claude-3-5-haiku-latest' }, usage),
    ).toBe(800 + 2000);
  });

  it('without a target name, two targets on one upstream model cost the dearer price', () => {
    const usage = { promptTokens: 1000, completionTokens: 1000 };
    expect(costOf(pricing(), { kind: 'remote', provider: 'openai', model: 'gpt-4o-mini' }, usage)).toBe(
      200 + 800,
    );
  });

  it('local models cost 0 unless priced; cache hits are free; unpriced remotes cost 0', () => {
    const usage = { promptTokens: 100_000, completionTokens: 100_000 };
    const p = pricing();
    expect(costOf(p, { kind: 'local', provider: 'local', model: 'stories260K' }, usage)).toBe(0);
    expect(costOf(p, { kind: 'local', provider: 'local', model: 'big' }, usage)).toBe(1000 + 2000);
    expect(costOf(p, { kind: 'cache', provider: 'anthropic', model: 'claude-3-5-haiku-latest' }, usage)).toBe(
      0,
    );
    expect(costOf(p, { kind: 'remote', provider: 'gemini', model: 'x' }, usage)).toBe(0);
  });

  it('rounds a priced request up to a whole micro-dollar, so it never costs 0', () => {
    expect(
      costOf(
        pricing(),
        { kind: 'local', provider: 'local', model: 'big' },
        { promptTokens: 1, completionTokens: 0 },
      ),
    ).toBe(1);
    expect(
      costOf(
        pricing(),
        { kind: 'local', provider: 'local', model: 'big' },
        { promptTokens: 0, completionTokens: 0 },
      ),
    ).toBe(0);
  });

  it('prices a request that ended before its route was known by the model it named', () => {
    const usage = { promptTokens: 100, completionTokens: 10 };
    const p = pricing();
    expect(costOfRequest(p, undefined, 'big', usage)).toBe(1 + 1);
    expect(costOfRequest(p, undefined, 'claude', usage)).toBe(80 + 40);
    expect(costOfRequest(p, undefined, 'some-alias', usage)).toBe(0);
    expect(costOfRequest(p, { kind: 'cache', provider: 'x', model: 'y' }, 'claude', usage)).toBe(0);
  });

  it('refuses prices for names that are not configured (a typo would make a target free)', () => {
    const e = (() => {
      try {
        compilePricing(pricingConfigSchema.parse({ targets: { oia: { inputPerMTok: 1 } } }), TARGETS, []);
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(ColoError);
    expect(e).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'pricing.targets.oia' });
    expect(() => parseConfig({ pricing: { targets: { nope: { inputPerMTok: 1 } } } })).toThrow(
      /pricing.targets: "nope" is not a gateway target/,
    );
    expect(() => parseConfig({ pricing: { models: { nope: {} } } })).toThrow(/pricing.models/);
    expect(() => parseConfig({ pricing: { models: { stories260K: { inputPerMtok: 1 } } } })).toThrow(
      /unknown key "pricing.models.stories260K.inputPerMtok"/,
    );
    const ok = parseConfig({ pricing: { models: { stories260K: { outputPerMTok: 2 } } } });
    expect(ok.pricing.models.stories260K).toEqual({ inputPerMTok: 0, outputPerMTok: 2 });
  });
});

describe('cost budget on the embedded limiter', () => {
  it('admits while the budget lasts, charges the settled cost, refuses with QUOTA_EXCEEDED', async () => {
    const lim = new MemoryLimiter(limitsConfigSchema.parse({ key: { costBudget: 0.001 } }), {
      clock: () => 1000,
    });
    expect(usdToMicros(0.001)).toBe(1000);
    const p = pricing();
    const route = { kind: 'remote', provider: 'openai', model: 'gpt-4o-mini', target: 'oai' } as const;
    let served = 0;
    for (let i = 0; i < 20; i++) {
      const r = await lim.reserve({ tenant: 't', keyId: 'k', tokens: 0 }).catch((e: ColoError) => e);
      if (r instanceof ColoError) {
        expect(r.code).toBe('QUOTA_EXCEEDED');
        expect(r.retryAfterMs).toBe(86_400_000 - 1000);
        break;
      }
      served++;
      await lim.settle(r, {
        tokens: 0,
        cost: costOf(p, route, { promptTokens: 1000, completionTokens: 250 }),
      });
    }
    // Each costs 150 + 150 = 300 µ$: the 4th takes spend to 1200 ≥ 1000, the 5th is refused.
    expect(served).toBe(4);
  });
});
