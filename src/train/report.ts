/**
 * `rft report RUN_DIR`: turns a run directory's logs into report.md with reward and accuracy
 * curves (SVG) and sample held-out rollouts. Regenerable at any time, also mid-run.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { RunDir } from './run-dir.js';
import { lineChart, movingAverage, type Series } from './svg-chart.js';
import type { ChatMessage } from '../contracts/row.js';
import type { HeldoutSample } from './evaluate.js';

type Rec = Record<string, number>;

/** One logged quantity over steps. */
const curve = (name: string, recs: Rec[], key: string): Series => ({ name, points: recs.map((r) => [r.step, r[key]]) });
/** A noisy per-step quantity and its moving average. */
const withTrend = (name: string, recs: Rec[], key: string): Series[] => {
  const c = curve(name, recs, key);
  return [c, { name: 'moving average (9)', points: movingAverage(c.points, 9) }];
};

const fmt = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v ?? ''));

/** The turns after the prompt: each assistant reply with its tool calls, each tool result. */
function conversation(messages: ChatMessage[]): string[] {
  const start = messages.findIndex((m) => m.role === 'assistant');
  return messages.slice(start < 0 ? messages.length : start).flatMap((m) => [
    `--- ${m.role}${m.role === 'tool' && m.name ? ` ${m.name}` : ''} ---`,
    ...(m.content ? [m.content.trim()] : []),
    ...(m.tool_calls ?? []).map((c) => `→ ${c.function.name}(${c.function.arguments})`),
  ]);
}

export function writeReport(runPath: string): string {
  if (!existsSync(runPath)) throw new Error(`run directory ${runPath} does not exist`);
  const run = new RunDir(runPath);
  const metrics = run.readJsonl<Rec>('metrics.jsonl');
  const evals = run.readJsonl<Rec>('eval.jsonl');
  if (!metrics.length && !evals.length) throw new Error(`${runPath} has no metrics.jsonl or eval.jsonl entries yet`);

  // SFT runs log a loss per step; RFT runs a reward.
  const isRft = metrics.some((m) => typeof m.reward_mean === 'number');
  const chart = (file: string, title: string, series: Series[], range: { yMin?: number; yMax?: number } = {}) =>
    writeFileSync(run.file(file), lineChart(title, 'step', series, range));
  if (isRft) {
    chart('reward.svg', 'Training reward (mean over rollouts)', withTrend('reward_mean', metrics, 'reward_mean'), { yMin: 0, yMax: 1 });
    chart('training.svg', 'Policy statistics', [
      curve('entropy', metrics, 'entropy'),
      curve('kl', metrics, 'kl'),
      curve('zero-variance groups', metrics, 'zero_variance_fraction'),
      curve('truncated', metrics, 'truncated_fraction'),
    ]);
  } else if (metrics.length) {
    chart('loss.svg', 'Training loss (answer tokens)', [...withTrend('loss', metrics, 'loss'), curve('eval loss', evals.filter((e) => typeof e.eval_loss === 'number'), 'eval_loss')], { yMin: 0 });
  }
  // Agent runs: turns and tool use per rollout, and how many rollouts failed.
  const isAgent = isRft && metrics.some((m) => (m.turns_max ?? 1) > 1 || (m.tool_calls_max ?? 0) > 0);
  if (isAgent) {
    chart('agent.svg', 'Agent rollouts', [
      curve('turns (mean)', metrics, 'turns_mean'),
      curve('tool calls (mean)', metrics, 'tool_calls_mean'),
      curve('tool errors (fraction of calls)', metrics, 'tool_error_fraction'),
      curve('invalid rollouts', metrics, 'invalid_fraction'),
    ], { yMin: 0 });
  }
  if (evals.some((e) => typeof e.pass1 === 'number')) {
    chart('heldout.svg', 'Held-out accuracy', [
      curve('pass@1 (greedy)', evals, 'pass1'),
      curve('pass@1 (sampled)', evals, 'pass1_sampled'),
      curve('pass@k', evals, 'pass_at_k'),
      curve('mean reward (greedy)', evals, 'mean_reward'),
    ], { yMin: 0, yMax: 1 });
  }

  const lines = [`# Run report: ${runPath}`, ''];
  if (evals.length) {
    lines.push('## Held-out evaluation', '', '| step | eval loss | pass@1 greedy | mean reward | pass@1 sampled | pass@k (k) |', '|---|---|---|---|---|---|');
    for (const e of evals) lines.push(`| ${e.step} | ${fmt(e.eval_loss ?? '–')} | ${fmt(e.pass1 ?? '–')} | ${fmt(e.mean_reward ?? '–')} | ${fmt(e.pass1_sampled ?? '–')} | ${fmt(e.pass_at_k ?? '–')}${e.k ? ` (${e.k})` : ''} |`);
    lines.push('');
    if (evals.some((e) => typeof e.pass1 === 'number')) lines.push('![held-out](heldout.svg)', '');
  }
  if (metrics.length) {
    const last = metrics[metrics.length - 1];
    const sum = (k: string) => metrics.reduce((a, m) => a + (m[k] ?? 0), 0);
    lines.push('## Training', '', `${metrics.length} steps. Time: sampling ${fmt(sum('time_sample_s'))} s, evaluation ${fmt(sum('time_eval_s'))} s, training ${fmt(sum('time_train_s'))} s.`, '');
    lines.push(...(isRft ? ['![reward](reward.svg)', '', '![policy](training.svg)', ...(isAgent ? ['', '![agent](agent.svg)'] : [])] : ['![loss](loss.svg)']), '', '| metric | last step |', '|---|---|');
    for (const [k, v] of Object.entries(last)) if (k !== 'step') lines.push(`| ${k} | ${fmt(v)} |`);
    lines.push('');
  }
  const lastEval = evals[evals.length - 1];
  const samplesPath = lastEval ? run.file(`samples/step-${String(lastEval.step).padStart(6, '0')}.json`) : '';
  if (samplesPath && existsSync(samplesPath)) {
    const samples = JSON.parse(readFileSync(samplesPath, 'utf8')) as HeldoutSample[];
    lines.push(`## Sample held-out rollouts (step ${lastEval.step}, greedy)`, '');
    for (const s of samples.filter((x) => x.greedy).slice(0, 8)) {
      // an agent rollout shows its conversation after the prompt: replies, tool calls, tool results
      const body = s.messages ? conversation(s.messages) : ['--- completion ---', s.completion.trim()];
      lines.push('```text', s.prompt.trim(), ...body, '```', `score ${s.score ?? 'invalid'}${s.reason ? ` — ${s.reason}` : ''}`, '');
    }
  }
  const out = run.file('report.md');
  writeFileSync(out, lines.join('\n'));
  return out;
}
