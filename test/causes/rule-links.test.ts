/**
 * Rule names and cause ids overlap (issue 11): docs/architecture.md section 2 states which cause each
 * normalization rule's differences are reported under. This keeps that table true to the code: every
 * rule is listed once, every cause it names is in the catalogue, and a rule that shares its name with
 * a cause is linked to that cause (so a same-named pair never means two things).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { causeCatalogue } from '../../src/causes/catalogue.js';
import { configRuleNames, layerRuleNames } from '../../src/normalize/options.js';
import { repoRoot } from '../helpers/golden.js';

/** The rows of the "rule | cause of the differences it removes" table: rule -> cause id or null. */
async function documentedLinks(): Promise<Map<string, string | null>> {
  const page = await readFile(join(repoRoot, 'docs', 'architecture.md'), 'utf8');
  const table = /\| rule \| cause of the differences it removes \|\n\|---\|---\|\n((?:\|.*\|\n)+)/.exec(page)?.[1];
  expect(table, 'docs/architecture.md has the rule/cause table').toBeDefined();
  const links = new Map<string, string | null>();
  for (const row of table!.trim().split('\n')) {
    const [rule, cause] = row.split('|').slice(1, 3).map((cell) => cell.trim());
    expect(links.has(rule!), `${rule} is listed once`).toBe(false);
    links.set(rule!.replace(/`/g, ''), cause!.startsWith('none of its own') ? null : cause!.replace(/`/g, ''));
  }
  return links;
}

describe('rule names and cause ids', () => {
  it('the table lists every rule, in the order of the code', async () => {
    expect([...(await documentedLinks()).keys()]).toEqual([...layerRuleNames, ...configRuleNames]);
  });

  it('names causes that exist, and links each rule to the cause of its own name where there is one', async () => {
    const ids = new Set(causeCatalogue.map((cause) => cause.id));
    for (const [rule, cause] of await documentedLinks()) {
      if (cause !== null) expect(ids.has(cause), `cause ${cause} of rule ${rule}`).toBe(true);
      if (ids.has(rule)) expect(cause, `rule ${rule} has a cause of its name`).toBe(rule);
    }
  });

  it('the two pairs whose names differ are the ones the page explains', async () => {
    const links = await documentedLinks();
    const renamed = [...links].filter(([rule, cause]) => cause !== null && cause !== rule && cause !== 'format-conversion');
    expect(renamed).toEqual([
      ['mtime', 'file-mtime'],
      ['diff-ids', 'layer-diff-ids'],
    ]);
  });
});
