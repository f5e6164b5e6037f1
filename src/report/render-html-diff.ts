/**
 * A unified diff (the view's lines) as a two-column table for the HTML report: context lines on both
 * sides, each run of removed lines paired with the run of added lines that follows it, and the words
 * that changed within a pair marked (<del> on A's side, <ins> on B's). Pure: lines in, HTML out.
 */
import { diffWords } from 'diff';
import { escapeHtml } from './render-html-escape.js';

/** Past this many characters a pair of lines is shown without word marks (diffWords is quadratic). */
const wordDiffLimit = 2000;

/** The rows of a side-by-side table for the unified diff `lines` (file headers dropped). */
export function renderSideBySide(lines: readonly string[], more: number): string {
  const rows: string[] = [];
  let removed: string[] = [];
  let added: string[] = [];
  const flush = () => {
    for (let index = 0; index < Math.max(removed.length, added.length); index++) {
      rows.push(renderPair(removed[index], added[index]));
    }
    removed = [];
    added = [];
  };
  for (const line of lines) {
    if (line.startsWith('--- ') || line.startsWith('+++ ')) continue;
    if (line.startsWith('-')) {
      // A removed line after added ones starts a new change.
      if (added.length > 0) flush();
      removed.push(line.slice(1));
    } else if (line.startsWith('+')) {
      added.push(line.slice(1));
    } else {
      flush();
      if (line.startsWith('@@')) rows.push(`<tr class="hunk"><td colspan="2">${escapeHtml(line)}</td></tr>`);
      else if (line.startsWith('\\')) rows.push(`<tr class="note"><td colspan="2">${escapeHtml(line)}</td></tr>`);
      else {
        const text = escapeHtml(line.slice(1));
        rows.push(`<tr><td class="ctx">${text}</td><td class="ctx">${text}</td></tr>`);
      }
    }
  }
  flush();
  if (more > 0) rows.push(`<tr class="note"><td colspan="2">… ${more} more lines (the JSON report has all of them)</td></tr>`);
  return `<table class="sbs"><thead><tr><th>A</th><th>B</th></tr></thead><tbody>\n${rows.join('\n')}\n</tbody></table>`;
}

function renderPair(a: string | undefined, b: string | undefined): string {
  if (a === undefined) return `<tr><td class="empty"></td><td class="add">${escapeHtml(b ?? '')}</td></tr>`;
  if (b === undefined) return `<tr><td class="del">${escapeHtml(a)}</td><td class="empty"></td></tr>`;
  if (a.length + b.length > wordDiffLimit) return `<tr><td class="del">${escapeHtml(a)}</td><td class="add">${escapeHtml(b)}</td></tr>`;
  let left = '';
  let right = '';
  for (const change of diffWords(a, b)) {
    const text = escapeHtml(change.value);
    if (change.removed) left += `<del>${text}</del>`;
    else if (change.added) right += `<ins>${text}</ins>`;
    else {
      left += text;
      right += text;
    }
  }
  return `<tr><td class="del">${left}</td><td class="add">${right}</td></tr>`;
}
