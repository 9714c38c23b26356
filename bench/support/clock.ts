/**
 * Where process.hrtime's zero falls on this process's performance.now() scale. Both read the
 * machine's monotonic clock (CLOCK_MONOTONIC on Linux), which every process shares, and so do V8's
 * CPU profiles (in µs): times taken in the services can be set beside the benchmark's own.
 */
const HRTIME_AT_ORIGIN_MS = Number(process.hrtime.bigint()) / 1e6 - performance.now();

/** A time of this process's performance.now() on the machine's monotonic clock, in ms. */
export const toMonotonicMs = (performanceNow: number): number => performanceNow + HRTIME_AT_ORIGIN_MS;

/** A time of the machine's monotonic clock (ms) on this process's performance.now() scale. */
export const fromMonotonicMs = (monotonicMs: number): number => monotonicMs - HRTIME_AT_ORIGIN_MS;
