const { scanRunLogs } = require('./log-scan');

/**
 * Ends the run with one line on stdout, `N passed, N failed`, that CI reads as the test count.
 * A test file that failed without any failing test (it did not load, a hook threw, it had no
 * tests) counts as one failure, so such a run can never look green. So does a secret in any log
 * the run's services wrote (test/log-scan.js), which also fails the run.
 */
class SummaryReporter {
  onRunComplete(_testContexts, results) {
    const failedFilesWithoutFailedTests = results.testResults.filter(
      (file) => (file.testExecError || file.failureMessage) && file.numFailingTests === 0,
    ).length;
    const leaks = scanRunLogs();
    if (leaks.length > 0) {
      process.stdout.write(`\nlog scan: ${leaks.length} log line(s) carry a secret:\n`);
      for (const leak of leaks.slice(0, 20)) {
        process.stdout.write(`  ${leak.file}:${leak.line}: ${leak.what}: …${leak.excerpt}\n`);
      }
      this.error = new Error(`log scan: ${leaks.length} log line(s) carry a secret`);
    }
    const failed = results.numFailedTests + failedFilesWithoutFailedTests + (leaks.length > 0 ? 1 : 0);
    process.stdout.write(`${results.numPassedTests} passed, ${failed} failed\n`);
  }

  /** Jest fails the run when a reporter has an error. */
  getLastError() {
    return this.error;
  }
}

module.exports = SummaryReporter;
