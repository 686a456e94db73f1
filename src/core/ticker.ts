/** The first $CASHTAG in a text, upper-cased ('' when none): the ticker a text-level signal is about. */
const CASHTAG = /\$([A-Za-z][A-Za-z0-9.]{0,9})\b/;

export function firstCashtag(text: string): string {
  return CASHTAG.exec(text)?.[1]?.toUpperCase() ?? '';
}
