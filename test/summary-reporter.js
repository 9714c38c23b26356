/**
 * Ends the run with one line on stdout, `N passed, N failed`, that CI reads as the test count.
 * A test file that failed without any failing test (it did not load, a hook threw, it had no
 * tests) counts as one failure, so such a run can never look green.
 */
class SummaryReporter {
  onRunComplete(_testContexts, results) {
    const failedFilesWithoutFailedTests = results.testResults.filter(
      (file) => (file.testExecError || file.failureMessage) && file.numFailingTests === 0,
    ).length;
    const failed = results.numFailedTests + failedFilesWithoutFailedTests;
    process.stdout.write(`${results.numPassedTests} passed, ${failed} failed\n`);
  }
}

module.exports = SummaryReporter;
