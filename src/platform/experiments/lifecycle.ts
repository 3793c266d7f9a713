/**
 * The experiment lifecycle: draft → running ⇄ paused, and running or paused → stopped (final).
 * Only a running experiment assigns variants and records exposures; every other state serves the
 * baseline (the first variant).
 */

export const STATUSES = ['draft', 'running', 'paused', 'stopped'] as const;
export type Status = (typeof STATUSES)[number];

const NEXT: Record<Status, readonly Status[]> = {
  draft: ['running'],
  running: ['paused', 'stopped'],
  paused: ['running', 'stopped'],
  stopped: [],
};

/** The states `from` may move to. */
export function allowedTransitions(from: Status): readonly Status[] {
  return NEXT[from];
}

/** True when `from → to` is allowed. Staying in the same state is allowed (an idempotent PATCH). */
export function canTransition(from: Status, to: Status): boolean {
  return from === to || NEXT[from].includes(to);
}

export function isStatus(value: unknown): value is Status {
  return typeof value === 'string' && (STATUSES as readonly string[]).includes(value);
}
