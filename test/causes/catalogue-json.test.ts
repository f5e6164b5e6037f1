/**
 * The built package loads the cause catalogue from the JSON the build writes beside the YAML (parsing
 * the YAML cost a quarter second at every start): it must hold exactly what the YAML says.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

describe('the built catalogue', () => {
  it('dist/causes/catalogue.json is the parsed src/causes/catalogue.yaml, and the compiled module loads it', async () => {
    const yaml = parseYaml(await readFile(new URL('../../src/causes/catalogue.yaml', import.meta.url), 'utf8')) as { id: string }[];
    const json = JSON.parse(await readFile(new URL('../../dist/causes/catalogue.json', import.meta.url), 'utf8')) as unknown;
    expect(json).toEqual(yaml);
    const built = (await import(new URL('../../dist/causes/catalogue.js', import.meta.url).href)) as { causeCatalogue: { id: string }[] };
    expect(built.causeCatalogue.map((cause) => cause.id)).toEqual(yaml.map((cause) => cause.id));
  });
});
