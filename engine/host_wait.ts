/**
 * Waiting for the GPU without spinning the host thread.
 *
 * Dawn's Node binding (the `webgpu` package) settles its promises (mapAsync, onSubmittedWorkDone,
 * popErrorScope) from a poll that it reschedules with setImmediate for as long as any of them is
 * pending: a busy loop on the JS thread. On a CPU adapter (lavapipe) that loop takes a core from the
 * driver's worker threads; a t6_8M training step spent 4.9 of its 12 CPU-seconds in it
 * (bench/docs/host_waits.md). While any promise given to `track` is pending, a timer puts the
 * thread to sleep for `SLICE_MS` in every turn of the event loop (Atomics.wait), so the poll runs
 * about a thousand times a second instead of continuously, and a finished wait is noticed within a
 * slice. The first `SPIN_MS` of a wait still poll flat out, so short waits on a real GPU keep their
 * latency. Browsers wait without spinning and forbid Atomics.wait on the main thread: there `track`
 * passes promises through untouched. `track` attaches its own handlers to the promise, so a rejection
 * its caller ignores is no longer reported as unhandled: callers must handle it (the runtime's do).
 */

/** Milliseconds the thread sleeps per event-loop turn while the GPU is awaited. */
const SLICE_MS = 1;
/**
 * Milliseconds after a wait begins (nothing pending before it) during which the thread still polls
 * without sleeping: on a real GPU most waits end within them and keep their latency, while on a CPU
 * adapter a wait lasts tens to thousands of milliseconds and the spin costs nothing worth measuring.
 */
const SPIN_MS = 2;

export class HostWaits {
  private pending = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private readonly cell: Int32Array | null;

  /** `sleep`: true where the binding spins (Node); false passes promises through. */
  constructor(sleep: boolean) {
    this.cell = sleep ? new Int32Array(new SharedArrayBuffer(4)) : null;
  }

  /** Returns `p`, sleeping the thread in slices until it (and every other tracked promise) settles. */
  track<T>(p: Promise<T>): Promise<T> {
    const cell = this.cell;
    if (!cell) return p;
    if (this.pending++ === 0) {
      // Node clamps the interval to 1 ms, so after each slice the timer is due again: it runs once
      // per turn of the loop, between the binding's polls.
      const since = performance.now();
      this.timer = setInterval(() => {
        if (performance.now() - since >= SPIN_MS) Atomics.wait(cell, 0, 0, SLICE_MS);
      }, 0);
      // A wait that never settles (a lost device) must not keep the process alive.
      (this.timer as { unref?: () => void }).unref?.();
    }
    const settled = () => {
      if (--this.pending === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    };
    p.then(settled, settled);
    return p;
  }

  /** Promises being waited on now (tests). */
  get inFlight(): number {
    return this.pending;
  }
}
