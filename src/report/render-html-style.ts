/** The HTML report's one inline stylesheet: no external fonts or files, light and dark schemes. */
export const htmlStyle = `
:root { color-scheme: light dark; --fg: #1f2328; --bg: #ffffff; --muted: #656d76; --line: #d0d7de;
  --bad: #cf222e; --good: #1a7f37; --warn: #9a6700; --del: #ffebe9; --ins: #dafbe1; --delw: #ff818266; --insw: #4ac26b66; --code: #f6f8fa; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #8d96a0; --line: #30363d;
  --bad: #f85149; --good: #3fb950; --warn: #d29922; --del: #3c1618; --ins: #12261e; --delw: #f8514966; --insw: #2ea04366; --code: #161b22; } }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); margin: 0 auto; max-width: 1400px; padding: 16px 24px; }
h1 { font-size: 22px; margin: 8px 0; } h2 { font-size: 18px; margin: 24px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
code, .mono, .sbs td, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; }
code { background: var(--code); padding: 1px 4px; border-radius: 4px; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: 6px 0; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; }
.verdict { font-weight: 700; } .verdict.failed { color: var(--bad); } .verdict.passed { color: var(--good); }
.breaks { color: var(--bad); font-weight: 700; } .differs { color: var(--warn); } .same { color: var(--muted); }
.blocking { color: var(--bad); font-weight: 600; } .muted, .settings { color: var(--muted); }
details { margin: 6px 0; border: 1px solid var(--line); border-radius: 6px; padding: 4px 10px; }
details > summary { cursor: pointer; font-weight: 600; }
ul.diffs { list-style: none; padding-left: 0; } ul.diffs > li { margin: 8px 0; padding-top: 6px; border-top: 1px dashed var(--line); }
ul.diffs > li.remaining { border-left: 3px solid var(--bad); padding-left: 8px; } ul.diffs > li.accepted { border-left: 3px solid var(--warn); padding-left: 8px; }
a.anchor { color: var(--muted); text-decoration: none; margin-right: 4px; }
:target { outline: 2px solid var(--warn); outline-offset: 2px; }
table.sbs { width: 100%; table-layout: fixed; }
table.sbs td { white-space: pre-wrap; overflow-wrap: anywhere; border: 0; border-left: 1px solid var(--line); padding: 0 6px; }
table.sbs tr.hunk td, table.sbs tr.note td { color: var(--muted); background: var(--code); }
td.del { background: var(--del); } td.add { background: var(--ins); }
del { background: var(--delw); text-decoration: none; } ins { background: var(--insw); text-decoration: none; }
nav.index ol { columns: 2; font-size: 13px; }
`;
