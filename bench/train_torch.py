#!/usr/bin/python3
"""
The PyTorch side of `npm run bench -- train`: one GRPO step with plain PyTorch on the CPU (no
transformers library) on the same checkpoint, the same way rft's trainer does it:

  1. sampling: prompts × rollouts sequences decoded together with a KV cache (temperature 1, no
     early stop, so every run does the same work), keeping each sampled token's log-prob;
  2. rewards and group-normalised advantages (a cheap stand-in reward; it does not change the work);
  3. training: teacher-forced log-probs of the completions, the clipped GRPO loss against the
     sampling log-probs, backward through LoRA (rank r on every projection), one AdamW step.

Time split (sampling / training) and peak RSS, in F32 or with bf16 autocast (--dtype bf16: the
products run in bf16 with F32 master weights, as torch.autocast does on the CPU).

  rft model init --preset qwen2.5-0.5b --out /tmp/q05
  OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/train_torch.py --model /tmp/q05 --threads 2 --json

Prints one JSON object. Uses bench/model_torch.py's model (same folder).
"""
import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from model_torch import Model, load_weights  # noqa: E402


def grpo_step(m, cfg, a, step, autocast):
    V = cfg["vocab_size"]
    P, G, N, T0 = a.prompts, a.rollouts, a.new_tokens, a.prompt_tokens
    g = torch.Generator().manual_seed(1000 + step)
    prompts = torch.randint(0, min(V, 100), (P, T0), generator=g).repeat_interleave(G, 0)  # (P·G, T0)
    S = P * G
    ctx = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else torch.autocast("cpu", enabled=False)

    # 1. sampling with a KV cache
    t0 = time.perf_counter()
    with torch.no_grad(), ctx:
        cache = [(torch.zeros(S, m.Hkv, T0 + N, m.D), torch.zeros(S, m.Hkv, T0 + N, m.D)) for _ in range(m.L)]
        logits = m.forward(prompts, cache, 0)[:, -1].float()
        toks, old = [], []
        for i in range(N):
            lp = torch.log_softmax(logits, -1)
            nxt = torch.multinomial(lp.exp(), 1, generator=g)[:, 0]
            toks.append(nxt)
            old.append(lp.gather(1, nxt[:, None])[:, 0])
            if i < N - 1:
                logits = m.forward(nxt[:, None], cache, T0 + i)[:, -1].float()
    completion = torch.stack(toks, 1)  # (S, N)
    old_lp = torch.stack(old, 1)
    t_sample = time.perf_counter() - t0

    # 2. rewards → group-normalised advantages
    reward = (completion.sum(1) % 11).float() / 10
    r = reward.view(P, G)
    adv = ((r - r.mean(1, keepdim=True)) / (r.std(1, keepdim=True) + 1e-4)).view(S, 1)

    # 3. teacher-forced log-probs, clipped GRPO loss, backward through LoRA, AdamW
    t0 = time.perf_counter()
    seq = torch.cat([prompts, completion], 1)
    with ctx:
        logits = m.forward(seq[:, :-1])[:, T0 - 1 :].float()  # positions predicting the completion
    lp = torch.log_softmax(logits, -1).gather(2, completion[:, :, None])[:, :, 0]
    ratio = torch.exp(lp - old_lp)
    pg = -torch.min(ratio * adv, torch.clamp(ratio, 0.8, 1.2) * adv)
    loss = pg.mean(1).mean()
    loss.backward()
    params = [p for AB in m.lora.values() for p in AB[:2]]
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    m.opt.step()
    m.opt.zero_grad(set_to_none=True)
    t_train = time.perf_counter() - t0
    max_diff = (lp.detach() - old_lp).abs().max().item()
    return t_sample, t_train, S * N, S * (T0 + N - 1), max_diff


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompts", type=int, default=8)
    ap.add_argument("--rollouts", type=int, default=8)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--prompt-tokens", type=int, default=32)
    ap.add_argument("--lora-rank", type=int, default=16)
    ap.add_argument("--dtype", choices=["f32", "bf16"], default="f32")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = json.load(open(f"{a.model}/config.json"))
    m = Model(cfg, load_weights(a.model), a.lora_rank)
    m.opt = torch.optim.AdamW([p for AB in m.lora.values() for p in AB[:2]], lr=1e-4, weight_decay=0)
    runs = []
    for i in range(a.repeats):
        ts, tt, sampled, trained, diff = grpo_step(m, cfg, a, i, a.dtype == "bf16")
        runs.append((ts, tt))
        if not a.json:
            print(f"step {i}: sampling {ts:.2f} s ({sampled / ts:.1f} tok/s), training {tt:.2f} s ({trained / tt:.1f} tok/s); max |train − sample| log-prob {diff:.2e}")
    med = lambda xs: sorted(xs)[len(xs) // 2]
    ts, tt = med([r[0] for r in runs]), med([r[1] for r in runs])
    res = {
        "prompts": a.prompts, "rollouts": a.rollouts, "new_tokens": a.new_tokens, "lora_rank": a.lora_rank, "dtype": a.dtype,
        "step_s": ts + tt, "time_sample_s": ts, "time_train_s": tt,
        "sample_tokens_per_s": sampled / ts, "train_tokens_per_s": trained / tt,
        "max_abs_logprob_diff": diff,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    print(json.dumps(res))


if __name__ == "__main__":
    main()
