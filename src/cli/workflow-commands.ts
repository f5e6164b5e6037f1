/**
 * GitHub Actions workflow commands (`::error title=T::message`), apart from github-actions.ts: every
 * command's error path needs these, and github-actions.ts pulls in the report renderers and, through
 * them, the cause catalogue, whose YAML took ~0.3 s of CPU at every start of `normalize` (a tenth of
 * normalizing a 100,000-file layer) although normalize never reports causes.
 *
 * Escaping follows the workflow-command rules (docs.github.com, "Workflow commands for GitHub
 * Actions"; actions/toolkit command.ts): in the message `%` `\r` `\n` as %25 %0D %0A, in property
 * values also `:` and `,` as %3A %2C.
 */

export function inGithubActions(env: NodeJS.ProcessEnv): boolean {
  return env.GITHUB_ACTIONS === 'true';
}

/** A workflow command's message. */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A workflow command's property value. */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export interface Annotation {
  level: 'error' | 'warning';
  title: string;
  message: string;
}

/** `::error file=F,title=T::message` */
export function formatAnnotation(annotation: Annotation, file?: string): string {
  const properties = [...(file ? [`file=${escapeProperty(file)}`] : []), `title=${escapeProperty(annotation.title)}`].join(',');
  return `::${annotation.level} ${properties}::${escapeData(annotation.message)}`;
}
