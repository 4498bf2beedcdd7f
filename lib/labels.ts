/** Docker labels as the provider wants them (a list of {label, value}), in a stable order. */
export function dockerLabels(labels: Readonly<Record<string, string>>): { label: string; value: string }[] {
  return Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([label, value]) => ({ label, value }));
}
