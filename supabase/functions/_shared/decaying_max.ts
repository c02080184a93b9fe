/**
 * The largest recent observation, fading with a half-life: a cheap, allocation-free estimate of
 * "how slow has this been lately" that rises at once under a queue and forgets it in seconds.
 */
export class DecayingMax {
  #value = 0;
  #at = 0;

  /**
   * @param halfLifeMs how fast an observation fades (default 5 s)
   * @param now clock in milliseconds (default `performance.now`)
   */
  constructor(
    private readonly halfLifeMs = 5_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  observe(value: number): void {
    this.#value = Math.max(value, this.value());
    this.#at = this.now();
  }

  value(): number {
    return this.#value * 0.5 ** ((this.now() - this.#at) / this.halfLifeMs);
  }
}
