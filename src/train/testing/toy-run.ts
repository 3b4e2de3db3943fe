/**
 * Child-process entry for the kill-and-resume tests: runs the toy RFT loop into a run
 * directory and kills itself with SIGKILL at a chosen point.
 *   node toy-run.js RUN_DIR STEPS CHECKPOINT_EVERY [--resume] [--kill-after-step N] [--kill-in-checkpoint N]
 */
import { runRftLoop } from '../grpo/trainer.js';
import { toyConfig, toyPolicy, toyRows, toyScore, toyTokenizer } from './toy-task.js';

const [runDir, steps, every, ...flags] = process.argv.slice(2);
const flagValue = (name: string) => {
  const i = flags.indexOf(name);
  return i >= 0 ? Number(flags[i + 1]) : undefined;
};
const killAfter = flagValue('--kill-after-step');
const killInCheckpoint = flagValue('--kill-in-checkpoint');
const policy = toyPolicy();
let checkpointsSaved = 0;
const save = policy.saveTrainingState.bind(policy);
policy.saveTrainingState = async (dir: string) => {
  checkpointsSaved++;
  await save(dir);
  if (killInCheckpoint !== undefined && checkpointsSaved === killInCheckpoint) process.kill(process.pid, 'SIGKILL');
};

await runRftLoop({
  policy,
  tokenizer: toyTokenizer,
  score: toyScore,
  train: toyRows(12),
  heldout: toyRows(4),
  config: { ...toyConfig, steps: Number(steps), checkpointEvery: Number(every) },
  runDir,
  resume: flags.includes('--resume'),
  onStep: (step) => {
    if (killAfter !== undefined && step === killAfter) process.kill(process.pid, 'SIGKILL');
  },
});
