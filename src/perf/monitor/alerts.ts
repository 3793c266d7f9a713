/**
 * Alerts: threshold rules over windows. A rule whose condition holds becomes pending, then firing
 * once it has held for `forMs`; it resolves as soon as the condition clears. Each transition to
 * firing or resolved is logged once and kept in a bounded history with its timestamps.
 */
import type { PerformanceSnapshot } from './snapshot.ts';

export type Severity = 'info' | 'warning' | 'critical';

export interface AlertCheck {
  active: boolean;
  /** The figure the rule looked at (null when there was nothing to measure). */
  value: number | null;
  threshold: number;
  /** One sentence with the figures: "p95 412 ms over the last minute, target 200 ms". */
  message: string;
}

export interface AlertRule {
  id: string;
  severity: Severity;
  /** What the alert means, for docs and the dashboard. */
  summary: string;
  /** How long the condition must hold before the alert fires, ms. */
  forMs: number;
  /** One result per subject (a breaker, a pool); the key tells subjects apart. */
  check(s: PerformanceSnapshot): AlertCheck | Map<string, AlertCheck>;
}

export interface Alert {
  /** rule id, or rule id + ':' + subject. */
  id: string;
  rule: string;
  subject: string | null;
  severity: Severity;
  state: 'pending' | 'firing';
  /** Epoch ms when the condition started to hold, and when the alert fired. */
  since: number;
  firedAt: number | null;
  value: number | null;
  threshold: number;
  message: string;
}

export interface AlertTransition {
  id: string;
  rule: string;
  subject: string | null;
  severity: Severity;
  to: 'firing' | 'resolved';
  at: number;
  /** For resolved: when it had fired. */
  firedAt: number | null;
  message: string;
}

export interface AlertLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface AlertEngine {
  evaluate(s: PerformanceSnapshot): AlertTransition[];
  /** Pending and firing alerts. */
  active(): Alert[];
  /** Recent transitions, newest last. */
  history(): AlertTransition[];
  rules(): readonly AlertRule[];
}

export function createAlertEngine(
  rules: readonly AlertRule[],
  logger: AlertLogger,
  options: { historySize?: number } = {},
): AlertEngine {
  const historySize = options.historySize ?? 200;
  const current = new Map<string, Alert>();
  const history: AlertTransition[] = [];

  function record(t: AlertTransition): void {
    history.push(t);
    if (history.length > historySize) history.shift();
    const fields = { alert: t.id, severity: t.severity, message: t.message };
    if (t.to === 'firing') logger.warn(fields, `alert firing: ${t.message}`);
    else logger.info({ ...fields, firedAt: t.firedAt }, `alert resolved: ${t.id}`);
  }

  return {
    evaluate(s) {
      const transitions: AlertTransition[] = [];
      const seen = new Set<string>();
      for (const rule of rules) {
        const result = rule.check(s);
        const checks = result instanceof Map ? result : new Map([['', result]]);
        for (const [subject, check] of checks) {
          const id = subject === '' ? rule.id : `${rule.id}:${subject}`;
          if (!check.active) continue;
          seen.add(id);
          let alert = current.get(id);
          if (alert === undefined) {
            alert = {
              id,
              rule: rule.id,
              subject: subject === '' ? null : subject,
              severity: rule.severity,
              state: 'pending',
              since: s.at,
              firedAt: null,
              value: check.value,
              threshold: check.threshold,
              message: check.message,
            };
            current.set(id, alert);
          }
          alert.value = check.value;
          alert.message = check.message;
          if (alert.state === 'pending' && s.at - alert.since >= rule.forMs) {
            alert.state = 'firing';
            alert.firedAt = s.at;
            const t: AlertTransition = {
              id,
              rule: rule.id,
              subject: alert.subject,
              severity: rule.severity,
              to: 'firing',
              at: s.at,
              firedAt: s.at,
              message: check.message,
            };
            transitions.push(t);
            record(t);
          }
        }
      }
      for (const [id, alert] of current) {
        if (seen.has(id)) continue;
        current.delete(id);
        if (alert.state !== 'firing') continue;
        const t: AlertTransition = {
          id,
          rule: alert.rule,
          subject: alert.subject,
          severity: alert.severity,
          to: 'resolved',
          at: s.at,
          firedAt: alert.firedAt,
          // The figure that fired it, named as such: the one that resolved it is below the target.
          message: `resolved; it had fired with: ${alert.message}`,
        };
        transitions.push(t);
        record(t);
      }
      return transitions;
    },
    active: () => [...current.values()].map((a) => ({ ...a })),
    history: () => [...history],
    rules: () => rules,
  };
}
