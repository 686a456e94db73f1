/**
 * Word lists of the directional financial lexicon (lexicon.ts). Lower case, looked up as
 * written (no stemming: "recorded" must not read as "record"), so inflections are listed.
 *
 * Written from general financial-reporting vocabulary (earnings releases, trading
 * updates, rating actions), not from any evaluation sentence.
 */

const set = (words: string): ReadonlySet<string> => new Set(words.trim().split(/\s+/));

/** Movement up: the sign of the change, before the metric's polarity. */
export const UP = set(`
  rose rise rises rising risen increase increased increases increasing grew grow grows growing grown
  climb climbed climbs jump jumped jumps surge surged surges soar soared soars advance advanced advances
  gain gained gains rally rallied rallies expand expanded expands expanding widen widened widens
  higher up boost boosted boosts lift lifted lifts doubled double tripled raise raised raises hike hiked
  accelerated accelerate rebound rebounded strengthen strengthened strengthens larger added highest
  upped outpaced topped above
`);

/** Movement down. */
export const DOWN = set(`
  fell fall falls falling fallen decline declined declines declining decrease decreased decreases
  decreasing drop dropped drops slid slide slides slump slumped slumps tumble tumbled tumbles plunge
  plunged plunges sank sink sinks shrank shrink shrinks shrunk shrinking contracted contracting narrow
  narrowed narrows narrowing lower lowered lowers down cut cuts cutting reduce reduced reduces reducing
  halved slip slipped slips eased eases dip dipped dips lost loses lose shed erode eroded eroding
  squeezed weaken weakened weakens weakening smaller fewer dented dent trimmed trim lowest slowed slows
  sliding below
`);

/** Words good in themselves (not a movement of a metric). */
export const POSITIVE = set(`
  record beat beats exceeded exceed exceeds upgrade upgraded upgrades improve improved improves
  improving improvement strong stronger strongest solid robust best better favourable favorable
  successfully success approved approval won win wins secured awarded recovery recovered recover
  recovering positive optimistic confident ahead outperform outperformed buyback benefited benefit
  benefits supported supporting helped upbeat profitable momentum resilient healthy firm
  meet meets met reach reached reaches achieve achieved achieves
`);

/** Words bad in themselves. */
export const NEGATIVE = set(`
  loss losses warning warned warns downgrade downgraded downgrades miss missed misses weak weaker
  weakest worse worst poor fined fine penalty impairment writedown write-down write-downs writedowns
  charge charges unfavourable unfavorable negative halted suspended suspend suspends cancelled canceled
  terminated withdrew withdrawn recall recalled layoffs redundancies restructuring delay delayed delays
  shortage shortages overruns disrupted disruption stoppage dispute lawsuit investigation
  irregularities resigned doubt pressure headwinds difficult challenging failed fail fails unable
  stalled outflows default defaults bankruptcy insolvency slowdown deteriorated deteriorate
  deteriorating deterioration burdened shortfall short worsening worsened softer soft setback
  loss-making hurt weighed weigh weighs weighing fire strike bad
`);

/** Metrics that are bad when they go up (a cost, a loss, a liability). */
export const BAD_METRIC = set(`
  loss losses cost costs expense expenses expenditure debt liabilities impairment impairments charge
  charges write-down write-downs writedowns provisions provision claims churn vacancies vacancy defaults
  unemployment inventories inventory competition outflows overruns cost-to-income combined
  non-performing arrears delinquencies leverage
`);

/** Metrics that are good when they go up (stops the search for the subject of a movement). */
export const GOOD_METRIC = set(`
  revenue revenues sales profit profits earnings income ebit ebitda ebita margin margins order orders
  dividend dividends price prices volume volumes demand shares share stock cash output production
  deliveries bookings growth customers subscribers result results eps guidance outlook forecast
  capacity rates backlog intake traffic passengers occupancy returns return value turnover profitability
  inflows ratio solvency equity rating target forecasts expectations
  factor users arpu
`);

/** Words that say nothing moved. */
export const FLAT = set(`
  unchanged flat stable steady same level maintained reiterated reaffirmed affirmed reiterates
  reaffirms kept unaltered
`);

/** Flip the sign of the next polar word within NEGATION_WINDOW tokens. */
export const NEGATORS = set(`not no never without nor neither n't cannot`);
export const NEGATION_WINDOW = 4;

/** Words that introduce the comparison figure: "to A from B", "A compared with B", "A versus B". */
export const COMPARE = set(`compared against versus vs`);

/** Magnitude words after a number. */
export const MAGNITUDE: ReadonlyMap<string, number> = new Map([
  ['thousand', 1e3],
  ['k', 1e3],
  ['million', 1e6],
  ['millions', 1e6],
  ['mn', 1e6],
  ['mln', 1e6],
  ['m', 1e6],
  ['billion', 1e9],
  ['billions', 1e9],
  ['bn', 1e9],
  ['bln', 1e9],
  ['b', 1e9],
]);

/** Currency words before or after a number: the number is an amount of money. */
export const CURRENCY = set(`
  eur euro euros usd dollar dollars gbp pound pounds sterling sek nok dkk chf jpy yen cny rmb yuan
  inr rupees aud cad pln rub brl krona kronor krone kroner francs
`);
