/** A verify report whose file name, config value and diff hold markup: the HTML report must show it as text. */
import type { Difference } from '../../src/diff/model.js';
import type { Report } from '../../src/report/model.js';
import { buildFixedReport, fakeDigest, rawDifferences } from './fixed-report.js';

export const hostileName = 'opt/<script>alert(1)</script> "q" \'s\' &amp; <img src=x onerror=alert(2)>.txt';

/** The fixed report plus a file and a config value whose text is markup, and a diff holding markup. */
export function hostileHtmlReport(): Report {
  const differences: Difference[] = [
    ...rawDifferences(),
    {
      kind: 'file-attribute',
      path: `layers/1/${hostileName}#content`,
      layer: 1,
      file: hostileName,
      attribute: 'content',
      a: fakeDigest('h-a'),
      b: fakeDigest('h-b'),
      neutralized: false,
      cause: null,
      detail: { format: 'unified', diff: '@@ -1 +1 @@\n-<script>alert(3)</script> old\n+<b>bold</b> new\n' },
    },
    { kind: 'config-field', path: '/config/Env/3', a: 'X=</code><script>alert(4)</script>', b: null, neutralized: false, cause: null },
  ];
  return buildFixedReport(differences);
}

