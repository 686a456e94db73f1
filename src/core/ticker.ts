/** The first $CASHTAG in a text, upper-cased ('' when none): the ticker a text-level signal is about. */
const CASHTAG = /\$([A-Za-z][A-Za-z0-9.]{0,9})\b/;

export function firstCashtag(text: string): string {
  return CASHTAG.exec(text)?.[1]?.toUpperCase() ?? '';
}

/**
 * Fan-out (`tickers`): one prompt per ticker, made of the request's prompt (the news) and
 * a short ticker suffix, so every ticker's prompt shares the evaluated news as a common
 * token prefix and only the suffix and the answer are evaluated per ticker. A completion
 * prompt gets `\nTicker: AAPL\nAnswer:` (a choice is then joined with one space); chat
 * messages get `\nTicker: AAPL` appended to the last message (the answer starts the
 * model's turn). The one definition: the engine builds the prompts from it and the quota
 * and scheduler estimates count its length.
 */
export function tickerSuffix(ticker: string, chat: boolean): string {
  return chat ? `\nTicker: ${ticker}` : `\nTicker: ${ticker}\nAnswer:`;
}

/** A request's prompt or messages with one ticker's suffix (see tickerSuffix). */
export function withTicker<M extends { content: string }>(
  input: { prompt?: string | undefined; messages?: M[] | undefined },
  ticker: string,
): { prompt?: string | undefined; messages?: M[] | undefined } {
  if (input.prompt !== undefined) return { prompt: input.prompt + tickerSuffix(ticker, false) };
  const ms = input.messages ?? [];
  const last = ms.at(-1);
  if (!last) return { messages: ms };
  return { messages: [...ms.slice(0, -1), { ...last, content: last.content + tickerSuffix(ticker, true) }] };
}
