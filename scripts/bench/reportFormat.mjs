// Number and table formatting shared by the report's sections.

export function fixed(value) {
  if (value == null) return '–';
  return Math.abs(value) >= 100 ? String(Math.round(value)) : value.toFixed(Math.abs(value) >= 10 ? 1 : 2);
}

export function table(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

export const ms = (s) => (s?.median == null ? '–' : `${fixed(s.median)} ms (${fixed(s.min)}–${fixed(s.max)})`);
export const ratio = (s) => (s?.median == null ? '–' : `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})`);
export const perSec = (s) => (s?.median == null ? '–' : `${Math.round(s.median)} (${Math.round(s.min)}–${Math.round(s.max)})`);
