/** One target of the bench judged against a run's figures. */
export interface Verdict {
  target: string;
  /** The figure measured, as printed. */
  value: string;
  met: boolean;
}
