export interface ScenarioContext {
  /** Measured runs per configuration (the table reports medians). */
  runs: number;
  /** Seconds per HTTP load run. */
  duration: number;
  log: (line: string) => void;
}

export interface Scenario {
  /** Stable id: the section marker in docs/performance.md and the CLI filter. */
  id: string;
  title: string;
  /** Runs the measurement and returns the markdown for its section. */
  run(context: ScenarioContext): Promise<string>;
}
