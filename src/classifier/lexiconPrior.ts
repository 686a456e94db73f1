/**
 * The lexicon prior: after fitting, the weights of the two polarity tokens (`<lex+>`,
 * `<lex->`) get a fixed push towards the label of their direction: +strength on the
 * bullish (positive) column and -strength on the bearish one for `<lex+>`, the reverse
 * for `<lex->`. What the fit learned from headlines stays; the prior adds what
 * headlines under-teach, that a recognised movement of a metric is directional even in a
 * sentence made of words the model never saw. It lives in the weights, so the ONNX graph
 * and the serving code are unchanged.
 */
import type { Featurizer } from './featurize';
import { LEX_NEG, LEX_POS } from './lexicon';
import type { LinearModel } from './linear';
import { directionOfLabel } from './signal';

export function applyLexiconPrior(
  model: LinearModel,
  featurizer: Featurizer,
  labels: readonly string[],
  strength: number,
): void {
  if (strength === 0 || !featurizer.spec.lexicon) return;
  const dirs = labels.map(directionOfLabel);
  for (const [token, polarity] of [
    [LEX_POS, 1],
    [LEX_NEG, -1],
  ] as const) {
    const { index, sign } = featurizer.lexiconSlot(token);
    for (let c = 0; c < model.classes; c++) {
      const d = dirs[c] as number;
      if (d === 0) continue;
      const k = index * model.classes + c;
      // The feature's value carries the hash sign, so the weight carries it too.
      model.weights[k] = (model.weights[k] as number) + sign * polarity * d * strength;
    }
  }
}
