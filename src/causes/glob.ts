/**
 * Globs on file paths and JSON pointers, for the cause catalogue and policy selectors:
 * - `*` matches any characters within one segment, `?` one character (never `/`); dotfiles too;
 * - `[abc]`, `[a-z]` and `[!x]` (or `[^x]`) match one character of a class (never `/`); a `]` first
 *   in the class is a member, so `[[]` and `[]]` match a literal bracket;
 * - `{a,b}` matches either alternative (no nesting; alternatives may hold `/`); `[{]` is a literal `{`;
 * - a `**` segment matches zero or more whole segments, so `tmp/**` also matches `tmp` itself;
 * - an alternative without any `/` matches the last segment at any depth (`*.pyc`), as in
 *   .gitignore; any other is anchored at the root;
 * - every other character is literal (no extglobs, no backslash escapes).
 * Leading `/` and `./` and a trailing `/` are ignored on both sides, so one matcher serves file paths
 * and JSON pointers. An unbalanced `[` or `{` is an error (`checkGlob`), never a silent literal.
 *
 * picomatch matches each segment. Two parts stay here, for reasons measured or pinned by tests:
 * braces are expanded before matching, because the anchoring above is per alternative and a pattern
 * must be refused when it expands past 256 alternatives; and `**` is matched across segments by a
 * linear dynamic programme, because picomatch's whole-path regular expression backtracks: `(**\/a/)x20 c`
 * on a path of 200 segments ran for over 10 minutes, against well under a millisecond here.
 */
import picomatch from 'picomatch';

export class GlobError extends Error {}

/** Why a glob cannot be used (`unbalanced "[" in ...`), or null when it is valid. */
export function checkGlob(pattern: string): string | null {
  try {
    compileGlob(pattern);
    return null;
  } catch (error) {
    if (error instanceof GlobError) return error.message;
    throw error;
  }
}

/** Whether a path (or JSON pointer) matches a glob; throws a `GlobError` for an invalid glob. */
export function matchGlob(pattern: string, path: string): boolean {
  const pathSegments = pathSegmentsOf(path);
  return compileGlob(pattern).some((alternative) => {
    if (alternative.base) {
      const last = pathSegments.at(-1);
      return last !== undefined && alternative.segments.length === 1 && matchSegment(alternative.segments[0]!, last);
    }
    return matchSegments(alternative.segments, pathSegments);
  });
}

type Segment = '**' | ((segment: string) => boolean);
interface Alternative {
  /** Without any `/`: matches the last path segment at any depth. */
  base: boolean;
  segments: Segment[];
}

/** More alternatives than this is a mistake (`{a,b}` ten times over is 1024 patterns). */
const maxAlternatives = 256;
const compiled = new Map<string, Alternative[]>();

function compileGlob(pattern: string): Alternative[] {
  let alternatives = compiled.get(pattern);
  if (!alternatives) {
    alternatives = expandBraces(pattern, pattern).map((alternative) => ({
      base: !alternative.includes('/'),
      segments: splitPath(alternative).map((segment) => (segment === '**' ? '**' : compileSegment(segment, pattern))),
    }));
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, alternatives);
  }
  return alternatives;
}

function matchSegment(segment: Segment, name: string): boolean {
  return segment === '**' || segment(name);
}

/** One segment (no `/`, braces expanded) in picomatch's syntax: classes checked, other specials escaped. */
function compileSegment(segment: string, original: string): (name: string) => boolean {
  if (!/[*?[]/.test(segment)) return (name) => name === segment;
  let source = '';
  for (let index = 0; index < segment.length; index++) {
    const char = segment[index]!;
    if (char === '*' || char === '?') source += char;
    else if (char === '[') {
      const end = classEnd(segment, index, original);
      source += classSource(segment.slice(index + 1, end), original);
      index = end;
    } else source += /[\\()|+@!$^{}.,\]]/.test(char) ? `\\${char}` : char;
  }
  // The regular expression, not picomatch's matcher: that one also accepts a name equal to the glob's text.
  const regex = picomatch.makeRe(source, { dot: true, nobrace: true, noextglob: true, nonegate: true, literalBrackets: false });
  return (name) => regex.test(name);
}

/** The inside of `[...]` as picomatch reads it: `!` or `^` first negates, ranges checked. */
function classSource(body: string, original: string): string {
  const negated = body.startsWith('!') || body.startsWith('^');
  const members = [...(negated ? body.slice(1) : body)];
  let source = '';
  for (let index = 0; index < members.length; index++) {
    const from = members[index]!;
    const to = members[index + 2];
    if (members[index + 1] === '-' && to !== undefined) {
      if (to < from) throw new GlobError(`bad range "${from}-${to}" in ${JSON.stringify(original)}`);
      source += `${escapeClass(from)}-${escapeClass(to)}`;
      index += 2;
    } else source += escapeClass(from);
  }
  return negated ? `[^${source}]` : `[${source}]`;
}

const escapeClass = (char: string) => (/[\\\]^[-]/.test(char) ? `\\${char}` : char);

/** The brace alternatives of a glob: `{a,b}/*.{c,d}` gives four patterns. */
function expandBraces(pattern: string, original: string): string[] {
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index];
    if (char === '[') {
      index = classEnd(pattern, index, original);
      continue;
    }
    if (char !== '{') continue;
    // One brace group: split at its commas, skipping character classes (`{[,]x,y}`).
    const options: string[] = [];
    let from = index + 1;
    let end = -1;
    for (let scan = from; scan < pattern.length; scan++) {
      const inner = pattern[scan];
      if (inner === '[') scan = classEnd(pattern, scan, original);
      else if (inner === '{') throw new GlobError(`nested "{" in ${JSON.stringify(original)} (braces do not nest)`);
      else if (inner === ',' || inner === '}') {
        options.push(pattern.slice(from, scan));
        from = scan + 1;
        if (inner === '}') {
          end = scan;
          break;
        }
      }
    }
    if (end < 0) throw new GlobError(`unbalanced "{" in ${JSON.stringify(original)} (no closing "}")`);
    const head = pattern.slice(0, index);
    const expanded: string[] = [];
    for (const option of options) {
      for (const rest of expandBraces(pattern.slice(end + 1), original)) {
        expanded.push(`${head}${option}${rest}`);
        if (expanded.length > maxAlternatives) {
          throw new GlobError(`${JSON.stringify(original)} expands to more than ${maxAlternatives} alternatives`);
        }
      }
    }
    return expanded;
  }
  return [pattern];
}

/** The index of the `]` closing the class opened at `open`; a class never spans a `/`. */
function classEnd(pattern: string, open: number, original: string): number {
  let index = open + 1;
  if (pattern[index] === '!' || pattern[index] === '^') index++;
  if (pattern[index] === ']') index++;
  for (; index < pattern.length; index++) {
    if (pattern[index] === ']') return index;
    if (pattern[index] === '/') break;
  }
  throw new GlobError(`unbalanced "[" in ${JSON.stringify(original)} (no closing "]" in the same path segment)`);
}

// A difference is tried against many globs in a row: split its path once.
let lastPath = '';
let lastSegments: string[] = [];
function pathSegmentsOf(path: string): string[] {
  if (path !== lastPath) {
    lastSegments = splitPath(path);
    lastPath = path;
  }
  return lastSegments;
}

function splitPath(path: string): string[] {
  const trimmed = path.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '');
  return trimmed === '' ? [] : trimmed.split('/');
}

/** Over (pattern, path) positions: linear in their product, no backtracking. */
function matchSegments(pattern: readonly Segment[], path: readonly string[]): boolean {
  // reachable[j]: the pattern segments so far can match the first j path segments.
  let reachable = new Array<boolean>(path.length + 1).fill(false);
  reachable[0] = true;
  for (const segment of pattern) {
    const next = new Array<boolean>(path.length + 1).fill(false);
    if (segment === '**') {
      let any = false;
      for (let j = 0; j <= path.length; j++) {
        any = any || reachable[j]!;
        next[j] = any;
      }
    } else {
      for (let j = 1; j <= path.length; j++) next[j] = reachable[j - 1]! && segment(path[j - 1]!);
    }
    reachable = next;
  }
  return reachable[path.length]!;
}
