import { type LoginThrottleLimits, slowdownDelayMs } from './throttles';

const limits: LoginThrottleLimits = {
  failuresPerAccountAndAddress: 5,
  failuresPerAddress: 20,
  slowdownAfterFailures: 10,
  slowdownMaxDelayMs: 5000,
  windowSeconds: 900,
};

describe('slowdownDelayMs', () => {
  it('does not slow an account down until it has had the allowed failures', () => {
    expect([0, 1, 10].map((failures) => slowdownDelayMs(failures, limits))).toEqual([0, 0, 0]);
  });

  it('doubles the delay with each failure past them, up to the maximum and no further', () => {
    expect([11, 12, 13, 14, 15, 16, 1000].map((failures) => slowdownDelayMs(failures, limits))).toEqual([
      250, 500, 1000, 2000, 4000, 5000, 5000,
    ]);
  });
});
