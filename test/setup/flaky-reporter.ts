// Under CI=true each failed test runs once more (vitest.config.ts). A test that passes only on that
// retry is flaky: the run stays green, and this lists each one at the end of the log with its first
// failure, so a flake is seen and fixed rather than hidden.
import { relative } from 'node:path';
import type { Reporter, TestCase } from 'vitest/node';

export default class FlakyReporter implements Reporter {
  private readonly flaky: string[] = [];

  onTestCaseResult(testCase: TestCase): void {
    if (!testCase.diagnostic()?.flaky) return;
    const firstFailure = testCase.result().errors?.[0]?.message.split('\n')[0] ?? '(no message)';
    this.flaky.push(`  ${relative(process.cwd(), testCase.module.moduleId)} > ${testCase.fullName}\n    first attempt: ${firstFailure}`);
  }

  onTestRunEnd(): void {
    if (this.flaky.length === 0) return;
    process.stdout.write(`\nFLAKY: ${this.flaky.length} test(s) failed, then passed on their retry:\n${this.flaky.join('\n')}\n`);
  }
}
