/**
 * One entry point for every report format: builds the view (view.ts) and hands it to the format's
 * renderer. The command picks the format and passes stdout.isTTY as colour.
 */
import { usageError } from '../errors.js';
import { buildExpectView, type ExpectReport, type IndexExpectReport } from './expect-model.js';
import { buildIndexView } from './index-view.js';
import type { IndexReport } from './index-model.js';
import { renderIndexJson, renderJson } from './json.js';
import type { Report } from './model.js';
import { renderExpectHtml, renderHtml, renderIndexHtml } from './render-html.js';
import { renderExpectJunit, renderIndexJunit, renderJunit } from './render-junit.js';
import { defaultMarkdownMaxBytes, renderExpectMarkdown, renderIndexMarkdown, renderMarkdown } from './render-markdown.js';
import { renderExpectText, renderIndexText, renderText } from './render-text.js';
import { buildReportView } from './view.js';

export const reportFormats = ['text', 'json', 'markdown', 'junit', 'html'] as const;
export type ReportFormat = (typeof reportFormats)[number];

export interface RenderOptions {
  /** ANSI colour in the text format; never in the others. */
  color: boolean;
  /** Text: list neutralized differences one by one. */
  verbose?: boolean;
  /** Markdown: size cap in bytes (default 60 KB). */
  maxBytes?: number;
}

/** XML has its own visible escape for control characters (`\u001b`); the other formats show `\x1b`. */
const junitView = { showControlCharacters: false } as const;

/** The report in one format, ending in a newline. */
export function renderReport(report: Report, format: ReportFormat, options: RenderOptions): string {
  switch (format) {
    case 'text':
      return renderText(buildReportView(report), { color: options.color, verbose: options.verbose });
    case 'json':
      return renderJson(report);
    case 'markdown':
      return renderMarkdown(buildReportView(report), { maxBytes: options.maxBytes });
    case 'junit':
      return renderJunit(buildReportView(report, junitView));
    case 'html':
      return renderHtml(buildReportView(report));
  }
  return unknownFormat(format);
}

/** An index report (index-model.ts) in one format: a summary of the platforms, then each platform's report. */
export function renderIndexReport(report: IndexReport, format: ReportFormat, options: RenderOptions): string {
  switch (format) {
    case 'text':
      return renderIndexText(buildIndexView(report), { color: options.color, verbose: options.verbose });
    case 'json':
      return renderIndexJson(report);
    case 'markdown':
      return renderIndexMarkdown(buildIndexView(report), { maxBytes: options.maxBytes ?? defaultMarkdownMaxBytes });
    case 'junit':
      return renderIndexJunit(buildIndexView(report, junitView));
    case 'html':
      return renderIndexHtml(buildIndexView(report));
  }
  return unknownFormat(format);
}

/** An `--expect` report, of one image or of an index, in one format. */
export function renderExpectReport(report: ExpectReport | IndexExpectReport, format: ReportFormat): string {
  switch (format) {
    case 'text':
      return renderExpectText(buildExpectView(report));
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'markdown':
      return renderExpectMarkdown(buildExpectView(report));
    case 'junit':
      return renderExpectJunit(buildExpectView(report));
    case 'html':
      return renderExpectHtml(buildExpectView(report));
  }
  return unknownFormat(format);
}

// Reached only from untyped callers.
function unknownFormat(format: never): never {
  throw usageError(`unknown report format ${JSON.stringify(format)}`, { hint: `formats are ${reportFormats.join(', ')}` });
}
