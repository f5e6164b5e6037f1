/**
 * Escaping for the HTML report, the one place: text and attribute values from the images (file names,
 * config values, diffs) come out inert, and each difference gets an anchor id derived from its path.
 */

const entities: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe in element content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => entities[char] ?? char);
}

/**
 * An HTML id (and URL fragment) for a difference path: `d-` then the path with letters, digits, `.`,
 * `-` and `/` kept, and every other UTF-8 byte written `_xx` (`_` itself too), so two paths never share
 * an id and the id needs no escaping in an attribute or a link.
 */
export function anchorFor(path: string, prefix: string | readonly string[] = []): string {
  // A page can hold several reports (an index report's platforms, a fleet's pairs and their platforms):
  // each part of the prefix, outermost first, ends in `~`, which encodeId never keeps.
  const parts = typeof prefix === 'string' ? [prefix] : prefix;
  return `${parts.map((part) => `${encodeId(part)}~`).join('')}d-${encodeId(path)}`;
}

function encodeId(text: string): string {
  let id = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    id += /[A-Za-z0-9./-]/.test(char) ? char : `_${byte.toString(16).padStart(2, '0')}`;
  }
  return id;
}
