/** Layer progress on stderr, only when a person is watching (stderr is a TTY); never in JSON mode. */
export function progressReporter(label: string): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, total) => {
    process.stderr.write(`\r${label}: ${done}/${total}${done === total ? '\r\x1b[K' : ''}`);
  };
}
