/** Messages between the runner and a job's child process (over the fork IPC channel). */

export interface WireRollout {
  index: number;
  group: number;
  score: number | null;
  valid: boolean;
  reason: string | null;
  prompt: unknown;
  messages: unknown;
  metrics: unknown;
  finishReason: string | null;
}

export type ChildMessage =
  | { type: 'step'; step: number; total: number; metrics: Record<string, number>; rollouts: WireRollout[] }
  | { type: 'eval'; step: number; evaluation: Record<string, unknown> }
  | { type: 'done'; outcome: 'completed' | 'paused' | 'early_stopped'; step: number; output: string | null }
  | { type: 'error'; message: string };

export type ParentMessage = { type: 'pause' };
