/** A throttle counter for one key in its current window. */
export interface ThrottleCount {
  /** Points counted in the window, this one included. */
  consumedPoints: number;
  /** Until the window ends. */
  msBeforeNext: number;
  /** The point was refused: the limit was spent already. */
  refused: boolean;
}
