/**
 * The one place providers are registered: adding a provider is a folder plus one
 * line here. The gateway looks providers up by the `provider` name in target config.
 */
import { anthropicProvider } from './anthropic';
import { dummyProvider } from './dummy';
import { geminiProvider } from './gemini';
import { openaiProvider } from './openai';
import type { Provider } from './types';

export const BUILTIN_PROVIDERS: readonly Provider[] = Object.freeze([
  openaiProvider,
  anthropicProvider,
  geminiProvider,
  dummyProvider,
]);

export class ProviderRegistry {
  private readonly byName = new Map<string, Provider>();

  constructor(providers: readonly Provider[] = BUILTIN_PROVIDERS) {
    for (const p of providers) this.register(p);
  }

  register(p: Provider): void {
    if (this.byName.has(p.name)) throw new Error(`provider ${p.name} registered twice`);
    this.byName.set(p.name, p);
  }

  get(name: string): Provider | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }
}
