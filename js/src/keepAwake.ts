/**
 * Keeping this thread's event loop awake for a short, bounded time.
 *
 * @packageDocumentation
 */
import { laterTask } from './waitAsyncFix';

/**
 * How long an event loop is kept awake, in milliseconds: on the page after each sync answer
 * (`SabChannel`) and after posting a page -> Python call, until no call is pending
 * (`KernelBridge`); in the kernel's worker after Python posts a frame (the worker helper). A loop
 * of `MessageChannel` tasks, so that the next request of a burst, or the answer, finds the
 * thread running instead of asleep. It never blocks the thread (input, rendering and other
 * tasks run between its turns) and ends by itself. Measured with `python -m bench.wake`
 * (bench/README.md): a page kept awake answers `call_sync` in 0.58-0.80x the time of an idle
 * one, in Chromium and Firefox.
 *
 * While a page -> Python call waits, the loop pays only since frames travel on the kernel's
 * Worker (protocol version 2): in Firefox 153 an answer on a `MessagePort` (version 1) was
 * handled only once the loop had ended, so each `k.call` took the loop's whole 1 ms (966 us
 * against 180 us without it; bench/README.md, eighth round). On the Worker channel the loop
 * cut `k.call` to 0.66x in Firefox and 0.64x in Chromium (bench/README.md, ninth round).
 */
export const KEEP_AWAKE_MS = 1;

/**
 * The loop behind {@link KEEP_AWAKE_MS}: one {@link laterTask} after another (`MessageChannel`
 * tasks, never clamped timers) until a deadline, so that a message expected soon finds this
 * thread running instead of asleep. Its owner extends the deadline when it sends something and
 * may end the loop early when the answer has come.
 */
export class KeepAwake {
  private until = 0;
  private running = false;

  /**
   * @param later - Runs a callback on a later task; {@link laterTask} by default.
   */
  constructor(private readonly later: (callback: () => void) => void = laterTask) {}

  /** True while the thread is kept awake: the loop runs and its deadline is ahead. */
  get awake(): boolean {
    return this.running && performance.now() < this.until;
  }

  /**
   * Keep the loop running for at least `ms` milliseconds from now (a later deadline is kept).
   *
   * @param ms - How long, in milliseconds; 0 or less does nothing.
   */
  extend(ms: number): void {
    if (ms <= 0) {
      return;
    }
    this.until = Math.max(this.until, performance.now() + ms);
    if (this.running) {
      return;
    }
    this.running = true;
    const turn = (): void => {
      if (performance.now() < this.until) {
        this.later(turn);
      } else {
        this.running = false;
      }
    };
    this.later(turn);
  }

  /** Let the loop end on its next turn (what it waited for has come, or its owner closed). */
  end(): void {
    this.until = 0;
  }
}
