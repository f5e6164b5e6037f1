/**
 * The cause catalogue: entries of id, title, fix and selectors. The built-in one is the data file
 * catalogue.yaml beside this module (`npm run build` puts it next to the compiled one, parsed, as
 * catalogue.json); a policy file may add entries of its own, read by the same `parseCauseEntries`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { isObject, parseSelector, type Selector, SelectorError } from './selectors.js';

export interface CauseEntry {
  /** Stable, kebab-case; policy files name causes by it. */
  id: string;
  title: string;
  /** The fix, as a user would apply it (a difference's `hint`). */
  fix: string;
  /** The entry names a difference when any selector matches it. */
  selectors: Selector[];
}

/** The pseudo cause id under which differences with no known cause are counted: no entry may take it. */
const reservedId = 'unknown';
const entryFields = ['id', 'title', 'fix', 'selectors'];

/**
 * Checks a parsed list of cause entries; `at` names the list (`causes`). Ids must be new to `taken`
 * (the entries before them, or the built-in ones for a policy's). Throws a `SelectorError`.
 */
export function parseCauseEntries(raw: unknown, at: string, taken: ReadonlySet<string> = new Set()): CauseEntry[] {
  if (!Array.isArray(raw)) throw new SelectorError(at, 'expected a list of causes, each with id, title, fix and selectors');
  const ids = new Set(taken);
  return raw.map((value: unknown, index): CauseEntry => {
    const entryAt = `${at}[${index}]`;
    if (!isObject(value)) throw new SelectorError(entryAt, 'expected a mapping with id, title, fix and selectors');
    for (const key of Object.keys(value)) {
      if (!entryFields.includes(key)) throw new SelectorError(`${entryAt}.${key}`, 'unknown field', `cause fields are ${entryFields.join(', ')}`);
    }
    const { id, title, fix, selectors } = value;
    if (typeof id !== 'string' || !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(id)) {
      throw new SelectorError(`${entryAt}.id`, `expected a kebab-case id, found ${JSON.stringify(id ?? null)}`);
    }
    if (id === reservedId || ids.has(id)) {
      throw new SelectorError(`${entryAt}.id`, `cause ${JSON.stringify(id)} is ${id === reservedId ? 'reserved' : 'already defined'}`, 'give the cause an id of its own');
    }
    ids.add(id);
    for (const [field, text] of [['title', title], ['fix', fix]] as const) {
      if (typeof text !== 'string' || text.trim() === '') throw new SelectorError(`${entryAt}.${field}`, 'required: a non-empty string');
    }
    if (!Array.isArray(selectors) || selectors.length === 0) {
      throw new SelectorError(`${entryAt}.selectors`, 'expected a non-empty list of selectors');
    }
    return {
      id,
      title: (title as string).trim(),
      fix: (fix as string).trim(),
      selectors: selectors.map((selector: unknown, selectorIndex) => parseSelector(selector, `${entryAt}.selectors[${selectorIndex}]`)),
    };
  });
}

function loadBuiltIn(): CauseEntry[] {
  // Parsing the YAML costs about 0.25 s of CPU, at every start of the CLI and of each fleet worker
  // thread; the JSON the build wrote from it, about 5 ms. The sources (under a test runner) have only the YAML.
  const json = new URL('./catalogue.json', import.meta.url);
  const url = existsSync(json) ? json : new URL('./catalogue.yaml', import.meta.url);
  try {
    const text = readFileSync(url, 'utf8');
    return parseCauseEntries(url === json ? JSON.parse(text) : parseYaml(text), 'causes');
  } catch (error) {
    // Shipped with the package: any problem here is a bug or a broken install, not the user's input.
    throw new Error(`the built-in cause catalogue ${url.pathname}: ${(error as Error).message}`, { cause: error });
  }
}

/** Ordered: the first entry that matches wins, so specific entries come before generic ones. */
export const causeCatalogue: readonly CauseEntry[] = loadBuiltIn();

const causeIndex = new Map(causeCatalogue.map((entry) => [entry.id, entry]));

/** The built-in entry of a cause id, or undefined. */
export function findCauseEntry(id: string): CauseEntry | undefined {
  return causeIndex.get(id);
}
