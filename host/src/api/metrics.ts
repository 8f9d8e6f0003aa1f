const needsEscape = /[\\"\n]/;
/** A label value as the exposition format wants it: backslash, quote and newline escaped. */
export const labelValue = (v: string): string => (needsEscape.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v);
/** `{k="v",…}` in the labels' order (every request builds two or more of these). */
const labelsOf = (labels: Record<string, string>): string => {
  let text = '';
  for (const k of Object.keys(labels)) text += `${text ? ',' : ''}${k}="${labelValue(labels[k]!)}"`;
  return `{${text}}`;
};

/** A gauge line. */
export const gauge = (name: string, labels: Record<string, string>, value: number): string =>
  `${name}${Object.keys(labels).length ? labelsOf(labels) : ''} ${value}`;

/** A few Prometheus counters and a latency summary, in the text exposition format. */
export class Metrics {
  private readonly counters = new Map<string, number>();
  private readonly durations = new Map<string, { sum: number; count: number }>();

  count(name: string, labels: Record<string, string>): void {
    const key = `${name}${labelsOf(labels)}`;
    this.counters.set(key, (this.counters.get(key) ?? 0) + 1);
  }

  observe(name: string, labels: Record<string, string>, seconds: number): void {
    const key = `${name}${labelsOf(labels)}`;
    const d = this.durations.get(key) ?? { sum: 0, count: 0 };
    d.sum += seconds;
    d.count += 1;
    this.durations.set(key, d);
  }

  render(): string {
    const lines: string[] = [];
    const names = new Set([...this.counters.keys()].map((k) => k.split('{')[0]!));
    for (const n of names) {
      lines.push(`# TYPE ${n} counter`);
      for (const [k, v] of this.counters) if (k.startsWith(`${n}{`)) lines.push(`${k} ${v}`);
    }
    const dnames = new Set([...this.durations.keys()].map((k) => k.split('{')[0]!));
    for (const n of dnames) {
      lines.push(`# TYPE ${n} summary`);
      for (const [k, v] of this.durations) {
        if (!k.startsWith(`${n}{`)) continue;
        const labels = k.slice(n.length);
        lines.push(`${n}_sum${labels} ${v.sum.toFixed(6)}`, `${n}_count${labels} ${v.count}`);
      }
    }
    return lines.join('\n') + '\n';
  }
}
