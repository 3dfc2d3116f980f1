import type { Logger } from '../../shared/index.js';

/**
 * A typed list of listeners for one event. As in mediasoup's enhancedEvents, a listener that
 * throws is caught and logged: one faulty handler never kills the emitter or the listeners after
 * it, and never unwinds into the SIP stack that raised the event.
 */
export class HandlerList<A extends unknown[]> {
  private readonly handlers: ((...args: A) => void)[] = [];

  constructor(
    private readonly logger: Logger,
    private readonly event: string,
  ) {}

  add(handler: (...args: A) => void): void {
    this.handlers.push(handler);
  }

  get size(): number {
    return this.handlers.length;
  }

  emit(...args: A): void {
    for (const h of this.handlers) {
      try {
        h(...args);
      } catch (err) {
        this.logger.error({ err, event: this.event }, 'event listener threw');
      }
    }
  }

  clear(): void {
    this.handlers.length = 0;
  }
}
