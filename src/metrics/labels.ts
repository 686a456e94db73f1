/**
 * Bounded label values. A label value that a client can choose (a model name, a
 * tenant) becomes a new time series per distinct value, so 50,000 made-up model names
 * once made /metrics 15 MB and a scrape 478 ms. Only names from the configuration are
 * kept; everything else folds into `other`. Tenants are labelled only when listed in
 * `metrics.tenants` (capped by the schema).
 */
export const OTHER = 'other';

export class LabelPolicy {
  private models = new Set<string>();
  private readonly tenants: Set<string>;

  constructor(tenants: readonly string[] = []) {
    this.tenants = new Set(tenants);
  }

  /** Configured model names: local names and aliases, gateway models, classifiers, skills. */
  allowModels(names: Iterable<string>): void {
    for (const n of names) this.models.add(n);
  }

  model(name: string): string {
    return this.models.has(name) ? name : OTHER;
  }

  /** Whether a tenant label is emitted at all. */
  get tenantLabels(): boolean {
    return this.tenants.size > 0;
  }

  tenant(name: string | undefined): string {
    return name !== undefined && this.tenants.has(name) ? name : OTHER;
  }
}

/** Renders a label set as `k="v",…`, escaped per the text format (backslash, quote, newline). */
export function labelText(labels: Readonly<Record<string, string>>): string {
  let s = '';
  for (const k in labels) {
    const v = labels[k]!;
    if (s) s += ',';
    s += `${k}="${escapeValue(v)}"`;
  }
  return s;
}

export function escapeValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}
