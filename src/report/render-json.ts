import type { Report } from './model.js';

/** The report as is: full digests, every difference; schema/report.schema.json describes it. */
export function renderJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
