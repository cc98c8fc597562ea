/** Time budgets: every search polls its deadline and stops with `BudgetExceeded`, never hangs. */

/** Thrown inside a search when its deadline passes; the registry turns it into an EinjitError. */
export class BudgetExceeded extends Error {
  constructor(readonly algorithm: string) {
    super(`${algorithm}: time budget exceeded`);
    this.name = 'BudgetExceeded';
  }
}

export function now(): number {
  return performance.now();
}

/** Throws BudgetExceeded when the deadline has passed. */
export function checkDeadline(deadline: number, algorithm: string): void {
  if (performance.now() > deadline) throw new BudgetExceeded(algorithm);
}
