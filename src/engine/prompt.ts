/**
 * Turns a request into the tokens a model sees. Prompts go in as-is (completion mode,
 * which tiny models need); chat messages are rendered through the chat template the
 * model's metadata names, or node-llama-cpp's general wrapper when it names none.
 */
import { resolveChatWrapper, type ChatHistoryItem, type LlamaModel, type Token } from 'node-llama-cpp';
import type { ChatMessage } from '../core/types';

const wrappers = new WeakMap<LlamaModel, ReturnType<typeof resolveChatWrapper>>();

export function renderPrompt(
  model: LlamaModel,
  input: { prompt?: string | undefined; messages?: ChatMessage[] | undefined },
): Token[] {
  if (input.prompt !== undefined) return model.tokenize(input.prompt);
  let wrapper = wrappers.get(model);
  if (!wrapper) {
    wrapper = resolveChatWrapper(model);
    wrappers.set(model, wrapper);
  }
  const history: ChatHistoryItem[] = (input.messages ?? []).map((m) =>
    m.role === 'system'
      ? { type: 'system', text: m.content }
      : m.role === 'user'
        ? { type: 'user', text: m.content }
        : { type: 'model', response: [m.content] },
  );
  if (history.at(-1)?.type !== 'model') history.push({ type: 'model', response: [] });
  const { contextText } = wrapper!.generateContextState({ chatHistory: history });
  return contextText.tokenize(model.tokenizer);
}
