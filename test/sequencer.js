const Sequencer = require('@jest/test-sequencer').default;

/**
 * The replica chaos test (test/faults/replica-chaos.test.ts) keeps both cores busy on its own for
 * minutes: beside it, the rest of the suite's timing-bound tests slow past their limits, and it past
 * its own. It runs last, when the other worker has only its last file left; the rest keep Jest's order.
 */
const RUN_LAST = ['/test/faults/replica-chaos.test.ts'];

const runsLast = (test) => RUN_LAST.some((suffix) => test.path.endsWith(suffix));

class HeavyLastSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    return [...sorted.filter((test) => !runsLast(test)), ...sorted.filter(runsLast)];
  }
}

module.exports = HeavyLastSequencer;
