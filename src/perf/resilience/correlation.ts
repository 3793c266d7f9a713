/**
 * Failure correlation: breakers of several services opening within one window usually share a
 * cause (our own network, DNS, a proxy), so they are reported as one incident naming every service
 * involved, instead of N unrelated alerts.
 */
export interface Incident {
  id: number;
  /** Services whose failures fell in the incident's window, in order of first failure. */
  services: string[];
  /** Epoch ms of the first and latest failure in the incident. */
  firstAt: number;
  lastAt: number;
  failures: number;
  /** `shared` when more than one service is involved: look for a common cause first. */
  scope: 'single' | 'shared';
}

export interface CorrelatorOptions {
  /** Failures this close to the incident's latest failure join it. @default 5000 */
  windowMs?: number;
  /** Incidents kept for status views. @default 50 */
  keep?: number;
  /** Called when an incident opens and each time a new service joins it. */
  onIncident?: (incident: Incident, change: 'opened' | 'joined') => void;
}

export class FailureCorrelator {
  readonly #windowMs: number;
  readonly #keep: number;
  readonly #onIncident: CorrelatorOptions['onIncident'];
  readonly #incidents: Incident[] = [];
  #nextId = 1;

  constructor(options: CorrelatorOptions = {}) {
    this.#windowMs = options.windowMs ?? 5000;
    this.#keep = options.keep ?? 50;
    this.#onIncident = options.onIncident;
  }

  /** Records a failure of `service` at `at` and returns the incident it belongs to. */
  record(service: string, at = Date.now()): Incident {
    const current = this.#incidents.at(-1);
    if (current !== undefined && at - current.lastAt <= this.#windowMs) {
      current.lastAt = Math.max(current.lastAt, at);
      current.failures++;
      if (!current.services.includes(service)) {
        current.services.push(service);
        current.scope = 'shared';
        this.#onIncident?.(current, 'joined');
      }
      return current;
    }
    const incident: Incident = {
      id: this.#nextId++,
      services: [service],
      firstAt: at,
      lastAt: at,
      failures: 1,
      scope: 'single',
    };
    this.#incidents.push(incident);
    if (this.#incidents.length > this.#keep) this.#incidents.shift();
    this.#onIncident?.(incident, 'opened');
    return incident;
  }

  /** Recent incidents, newest last (copies). */
  incidents(): Incident[] {
    return this.#incidents.map((i) => ({ ...i, services: [...i.services] }));
  }
}
