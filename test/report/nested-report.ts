// The fixed report with an archive inside an archive: opt/app/bundle.tar.gz whose gzip header time
// differs, whose lib/inner.zip differs in content and, inside it, x.txt in its DOS time, and a note
// for an archive past the depth limit. For the nested-member goldens and the browser test.
import type { Difference } from '../../src/diff/model.js';
import type { Report } from '../../src/report/model.js';
import { buildFixedReport, fakeDigest, rawDifferences } from './fixed-report.js';

export const nestedFile = 'opt/app/bundle.tar.gz';
/** The member two archives deep, as every format writes it. */
export const nestedMember = `${nestedFile}!/lib/inner.zip!/x.txt`;

export function nestedReport(): Report {
  const file = nestedFile;
  const changes = [
    { where: 'header', field: 'mtime', a: '2024-05-01T10:03:12Z', b: '2024-05-01T10:09:47Z', records: "the input file's modification time, or the time of compression (0 with gzip -n)" },
    { where: 'lib/inner.zip', field: 'content', a: `sha256:${fakeDigest('a-inner.zip').slice(7)}`, b: `sha256:${fakeDigest('b-inner.zip').slice(7)}`, records: "the member's content", member: ['lib/inner.zip'], path: `${file}!/lib/inner.zip` },
    {
      where: 'x.txt',
      field: 'dos-time',
      a: '2024-05-01 10:03:12',
      b: '2024-05-01 10:09:46',
      records: "the member's modification time in DOS form (local time, 2-second steps)",
      member: ['lib/inner.zip', 'x.txt'],
      path: nestedMember,
    },
  ];
  const notes = [`${file}!/lib/inner.zip!/deep.tar!/deeper.tar!/deepest.tar: an archive at depth 4, not opened (limit 3)`];
  const facts = { sizeA: 2311, sizeB: 2311, digestA: fakeDigest('a-bundle'), digestB: fakeDigest('b-bundle') };
  const bundle: Difference = {
    kind: 'file-attribute',
    path: `layers/1/${file}#content`,
    layer: 1,
    file,
    attribute: 'content',
    a: facts.digestA,
    b: facts.digestB,
    neutralized: false,
    cause: null,
    detail: { format: 'decoded', decoder: 'tar.gz', ...facts, changes, notes },
  };
  return buildFixedReport([...rawDifferences(), bundle]);
}
