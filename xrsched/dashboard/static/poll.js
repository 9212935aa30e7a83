// Live updates by polling: one refresh chain for the visible page, every `interval` ms after
// the previous refresh finished (so requests never overlap and a slow server is never asked
// twice at once), parked while the tab is hidden.

export class Poller {
  constructor(interval = 2000, onError = () => {}, onSuccess = () => {}) {
    this.interval = interval;
    this.onError = onError;
    this.onSuccess = onSuccess;
    this.generation = 0;
    this.timer = null;
    this.refresh = null;
    this.busy = false;
    this.again = false;
    this.parked = false;
    this.idle = Promise.resolve();
    this.count = 0;
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && this.parked) {
        this.parked = false;
        this.schedule(this.generation, 0);
      }
    });
  }

  /** Start refreshing with `refresh` (an async function), replacing the previous page's. */
  start(refresh) {
    this.stop();
    this.refresh = refresh;
    this.count = 0;
    document.body.dataset.refreshes = "0";
    const generation = this.generation;
    // The previous page's request finishes first: never two at once.
    this.idle.then(() => this.schedule(generation, 0));
  }

  /** Stop refreshing (the page is going away). */
  stop() {
    this.generation += 1;
    this.parked = false;
    this.again = false;
    clearTimeout(this.timer);
    this.timer = null;
  }

  /** Refresh now, or right after the request in flight: after an action. */
  soon() {
    if (this.busy) this.again = true;
    else this.schedule(this.generation, 0);
  }

  schedule(generation, delay) {
    if (generation !== this.generation) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.tick(generation), delay);
  }

  async tick(generation) {
    this.timer = null;
    if (generation !== this.generation || this.refresh === null || this.busy) return;
    if (document.hidden) {
      this.parked = true;
      document.body.dataset.polling = "parked";
      return;
    }
    document.body.dataset.polling = "active";
    this.busy = true;
    let finished;
    this.idle = new Promise((resolve) => (finished = resolve));
    try {
      await this.refresh();
      if (generation === this.generation) {
        // How many times this page's data arrived (tests wait on it).
        this.count += 1;
        document.body.dataset.refreshes = String(this.count);
        this.onSuccess();
      }
    } catch (error) {
      this.onError(error);
    } finally {
      this.busy = false;
      finished();
    }
    const delay = this.again ? 0 : this.interval;
    this.again = false;
    this.schedule(generation, delay);
  }
}
