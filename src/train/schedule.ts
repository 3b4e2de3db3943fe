/** Learning-rate schedules: linear warm-up, then constant, linear decay to 0, or cosine decay to 0. */
export type Schedule = 'constant' | 'linear' | 'cosine';

/** Learning rate for 0-based `step` of `totalSteps`. */
export function learningRateAt(step: number, totalSteps: number, peak: number, schedule: Schedule, warmupSteps: number): number {
  if (warmupSteps > 0 && step < warmupSteps) return (peak * (step + 1)) / warmupSteps;
  if (schedule === 'constant') return peak;
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, (step - warmupSteps) / decaySteps);
  if (schedule === 'linear') return peak * (1 - progress);
  return peak * 0.5 * (1 + Math.cos(Math.PI * progress));
}
