/** How far the audit projection has applied the log (a ProjectionRunner). */
export interface AppliedProgress {
  readonly appliedPosition: number;
  /** Resolves once `position` is applied, or after the timeout. */
  waitFor(position: number, timeoutMs: number): Promise<boolean>;
}

/** Whichever runner serves the read model now (a rebuild may switch it under a long-lived subscription). */
export class CurrentRunner implements AppliedProgress {
  constructor(private readonly current: () => AppliedProgress) {}

  get appliedPosition(): number {
    return this.current().appliedPosition;
  }

  waitFor(position: number, timeoutMs: number): Promise<boolean> {
    return this.current().waitFor(position, timeoutMs);
  }
}
