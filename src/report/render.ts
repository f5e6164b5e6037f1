/** One entry point for every report format; the command picks the format and passes stdout.isTTY as colour. */
import { usageError } from '../errors.js';
import type { Report } from './model.js';
import { renderJson } from './json.js';
import { renderJunit } from './render-junit.js';
import { renderMarkdown } from './render-markdown.js';
import { renderText } from './render-text.js';

export const reportFormats = ['text', 'json', 'markdown', 'junit'] as const;
export type ReportFormat = (typeof reportFormats)[number];

export interface RenderOptions {
  /** ANSI colour in the text format; never in the others. */
  color: boolean;
  /** Text: list neutralized differences one by one. */
  verbose?: boolean;
  /** Markdown: size cap in bytes (default 60 KB). */
  maxBytes?: number;
}

/** The report in one format, ending in a newline. */
export function renderReport(report: Report, format: ReportFormat, options: RenderOptions): string {
  switch (format) {
    case 'text':
      return renderText(report, { color: options.color, verbose: options.verbose });
    case 'json':
      return renderJson(report);
    case 'markdown':
      return renderMarkdown(report, { maxBytes: options.maxBytes });
    case 'junit':
      return renderJunit(report);
  }
  // Reached only from untyped callers.
  throw usageError(`unknown report format ${JSON.stringify(format)}`, { hint: `formats are ${reportFormats.join(', ')}` });
}
