/**
 * A valid SentencePiece-style ("llama") tokenizer for synthetic models: <unk>, <s>, </s>,
 * the 256 byte-fallback tokens, then word pieces. Any text tokenizes (bytes cover what the
 * pieces miss); the pieces are plausible English so prompts become a few tokens, not
 * one token per byte.
 */
import { kv, type GgufMetadata } from '../gguf/value';

const TOKEN_NORMAL = 1;
const TOKEN_UNKNOWN = 2;
const TOKEN_CONTROL = 3;
const TOKEN_BYTE = 6;

export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;
/** Ids below this are control tokens (unk, bos, eos). */
export const CONTROL_TOKENS = 3;

const WORDS = (
  'once upon a time the there lived little big small girl boy cat dog day sun tree house mom dad friend ' +
  'an and or but to of in on at for with by from up down out over under is are was were be been ' +
  'it its this that these those he she they we you i my your his her their our me him them us ' +
  'said went saw had has have do did not no yes very so then when one two three play happy sad ' +
  'price stock market shares rose fell bank rate rates earnings profit loss buy sell bullish bearish ' +
  'neutral company quarter revenue growth inflation fed bond yield oil gold dollar euro trade deal'
).split(' ');

export function buildVocab(size: number): { tokens: string[]; scores: number[]; types: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TOKEN_BYTE);
  }
  if (size < tokens.length + 1)
    throw new RangeError(`vocabulary of ${size} is too small for the byte tokens`);
  const seen = new Set(tokens);
  const add = (piece: string): void => {
    if (tokens.length >= size || seen.has(piece)) return;
    seen.add(piece);
    tokens.push(piece);
    types.push(TOKEN_NORMAL);
  };
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  add('▁');
  for (const ch of letters + letters.toUpperCase() + '0123456789.,!?\'"-:;()') add(ch);
  // SentencePiece merges only through pieces in the vocabulary, so a word is reachable
  // only if its prefixes are too: add "▁O", "▁On", "▁Onc", "▁Once". Story words come
  // first so even the 512-token tiny vocabulary has "▁Once ▁upon ▁a ▁time".
  const addWord = (piece: string): void => {
    for (let k = 2; k <= piece.length; k++) add(piece.slice(0, k));
  };
  for (const w of WORDS) {
    addWord(`▁${w}`);
    addWord(`▁${w[0]!.toUpperCase()}${w.slice(1)}`);
  }
  for (const ch of letters + letters.toUpperCase()) add(`▁${ch}`);
  for (const w of WORDS) addWord(w);
  // Fill the rest with letter bigrams, then trigrams, with and without the word marker.
  outer: for (const n of [2, 3, 4]) {
    for (const piece of combos(letters, n)) {
      if (tokens.length >= size) break outer;
      add(`▁${piece}`);
      add(piece);
    }
  }
  for (let i = 0; tokens.length < size; i++) add(`<extra_${i}>`);
  // SentencePiece merges prefer higher scores: earlier pieces win, like a frequency order.
  const scores = tokens.map((_, i) => (types[i] === TOKEN_NORMAL ? -i : 0));
  return { tokens, scores, types };
}

function* combos(alphabet: string, n: number): Generator<string> {
  if (n === 0) {
    yield '';
    return;
  }
  for (const head of combos(alphabet, n - 1)) for (const ch of alphabet) yield head + ch;
}

export function tokenizerMetadata(size: number): GgufMetadata {
  const { tokens, scores, types } = buildVocab(size);
  return {
    'tokenizer.ggml.model': kv.str('llama'),
    'tokenizer.ggml.tokens': kv.arr('string', tokens),
    'tokenizer.ggml.scores': kv.arr('f32', scores),
    'tokenizer.ggml.token_type': kv.arr('i32', types),
    'tokenizer.ggml.unknown_token_id': kv.u32(UNK_ID),
    'tokenizer.ggml.bos_token_id': kv.u32(BOS_ID),
    'tokenizer.ggml.eos_token_id': kv.u32(EOS_ID),
    'tokenizer.ggml.add_bos_token': kv.bool(true),
    'tokenizer.ggml.add_eos_token': kv.bool(false),
  };
}
