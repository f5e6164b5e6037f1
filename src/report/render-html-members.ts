/**
 * A decoded file's changed fields in HTML: the file's own fields in one table, then its members as a
 * tree of nested <details> (an archive inside an archive nests one level deeper), each member headed
 * by its path `outer!/inner!/x` and holding a table of its fields. Plain HTML: readable without script.
 */
import { escapeHtml as esc } from './render-html-escape.js';
import type { DetailView } from './view-values.js';

type Decoded = Extract<DetailView, { format: 'decoded' }>;
type Change = Decoded['changes'][number];

interface MemberNode {
  path: string;
  changes: Change[];
  children: Map<string, MemberNode>;
}

/** Levels of members opened at once: the first ones, so a reader sees what differs without clicking. */
const openLevels = 2;

export function renderDecoded(detail: Decoded): string {
  const own = detail.changes.filter((change) => change.member.length === 0);
  const root: MemberNode = { path: '', changes: [], children: new Map() };
  for (const change of detail.changes) {
    let node = root;
    change.member.forEach((name, level) => {
      let child = node.children.get(name);
      if (child === undefined) {
        child = { path: change.paths[level]!, changes: [], children: new Map() };
        node.children.set(name, child);
      }
      node = child;
    });
    if (node !== root) node.changes.push(change);
  }
  // A file with no members (a .pyc header) keeps the one captioned table.
  if (root.children.size === 0 && detail.notes.length === 0) return fieldTable(own, true, `${detail.decoder}, decoded`);
  const parts = [`<div class="decoded"><p>${esc(detail.decoder)}, decoded</p>`];
  if (own.length > 0) parts.push(fieldTable(own, true));
  if (root.children.size > 0) parts.push(`<div class="members">${[...root.children.values()].map((node) => renderNode(node, 1)).join('')}</div>`);
  if (detail.notes.length > 0) parts.push(`<ul class="notes">${detail.notes.map((note) => `<li class="muted">${esc(note)}</li>`).join('')}</ul>`);
  parts.push('</div>');
  return parts.join('');
}

function renderNode(node: MemberNode, level: number): string {
  const count = countFields(node);
  const summary = `<summary><code>${esc(node.path)}</code> <span class="muted">${count === 1 ? '1 field' : `${count} fields`}</span></summary>`;
  const table = node.changes.length > 0 ? fieldTable(node.changes, false) : '';
  const children = [...node.children.values()].map((child) => renderNode(child, level + 1)).join('');
  return `<details class="member"${level <= openLevels ? ' open' : ''}>${summary}${table}${children}</details>`;
}

function countFields(node: MemberNode): number {
  let total = node.changes.length;
  for (const child of node.children.values()) total += countFields(child);
  return total;
}

/** A table of fields; inside a member, the place column only where the field is not the member's own (an inner archive's header). */
function fieldTable(changes: readonly Change[], own: boolean, caption?: string): string {
  const place = (change: Change) => (own ? change.where : change.where === change.paths.at(-1) ? '' : change.where.slice(change.paths.at(-1)!.length + 1));
  // A member's own fields need no place column: the summary above names the member.
  const placed = changes.some((change) => place(change) !== '');
  const rows = changes.map(
    (change) =>
      `<tr>${placed ? `<td><code>${esc(place(change))}</code></td>` : ''}<td>${esc(change.field)}</td><td><code>${esc(change.a)}</code></td><td><code>${esc(change.b)}</code></td><td>${esc(change.records)}</td></tr>`,
  );
  const head = caption === undefined ? '' : `<caption>${esc(caption)}</caption>`;
  return `<table class="decoded">${head}<thead><tr>${placed ? '<th>where</th>' : ''}<th>field</th><th>A</th><th>B</th><th>records</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}
