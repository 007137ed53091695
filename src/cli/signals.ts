/**
 * SIGINT and SIGTERM for a whole run. Once the batch has started, the first signal asks it to stop (`onStop`: no
 * new images, the ones in flight finish, the output is written); before that (start-up: listing, model loading)
 * there is nothing to save and the first signal ends the process. A second signal ends the process at once,
 * whatever it is waiting for: after the synchronous clean-up (`onExit`, e.g. removing the lock) the signal is raised again with its
 * default action, so the process ends by that signal (shells report 130 / 143) without running exit handlers —
 * `process.exit` would wait for every thread, and a thread stuck in a read never returns.
 */

/** Exit codes of an interrupted run (128 + signal number, as shells report them). */
export const EXIT_SIGNAL = { SIGINT: 130, SIGTERM: 143 } as const;

/** The signals a run reacts to. */
export type StopSignal = keyof typeof EXIT_SIGNAL;

/** Installed handlers; {@link uninstall} removes them. */
export class SignalGuard {
  /** The first signal received, if any. */
  caught: StopSignal | undefined;
  private stopHandlers: ((sig: StopSignal) => void)[] = [];
  private exitHandlers: (() => void)[] = [];
  private readonly onInt = (): void => this.receive('SIGINT');
  private readonly onTerm = (): void => this.receive('SIGTERM');

  constructor(private readonly notify: (message: string) => void) {
    process.on('SIGINT', this.onInt);
    process.on('SIGTERM', this.onTerm);
  }

  /** Called on the first signal (at once if one was already received). */
  onStop(fn: (sig: StopSignal) => void): void {
    this.stopHandlers.push(fn);
    if (this.caught) fn(this.caught);
  }

  /** Synchronous clean-up before a second signal ends the process. */
  onExit(fn: () => void): void {
    this.exitHandlers.push(fn);
  }

  /** Removes the handlers (the default actions apply again). */
  uninstall(): void {
    process.off('SIGINT', this.onInt);
    process.off('SIGTERM', this.onTerm);
  }

  private receive(sig: StopSignal): void {
    if (this.caught !== undefined || this.stopHandlers.length === 0) {
      if (this.caught !== undefined) this.notify(`${sig} again: stopping now`);
      for (const fn of this.exitHandlers) {
        try {
          fn();
        } catch {
          // The process ends now whatever a clean-up step says.
        }
      }
      this.uninstall();
      process.removeAllListeners(sig);
      process.kill(process.pid, sig);
      // Where raising it does not end the process (a platform without POSIX signals), exit with its code.
      process.exit(EXIT_SIGNAL[sig]);
    }
    this.caught = sig;
    for (const fn of this.stopHandlers) fn(sig);
  }
}
