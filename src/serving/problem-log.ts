/**
 * Operational problems of the prediction service, logged once per distinct message (a store that
 * is down would otherwise log at every refresh); the last one is shown by /healthz while nothing
 * serves.
 */
export interface ProblemLog {
  report(message: string): void;
  /** Things work again: the next report of the same message is logged. */
  clear(): void;
  last(): string | undefined;
}

export function createProblemLog(log: (line: string) => void): ProblemLog {
  let lastProblem: string | undefined;
  return {
    report(message) {
      if (message === lastProblem) return;
      lastProblem = message;
      log(message);
    },
    clear() {
      lastProblem = undefined;
    },
    last: () => lastProblem,
  };
}
