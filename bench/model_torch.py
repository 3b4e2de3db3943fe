#!/usr/bin/python3
"""
The PyTorch side of `npm run bench -- model`: the same measurements on the same checkpoint with
plain PyTorch on the CPU (no transformers library): LoRA (all projections, rank r) forward and
forward+backward tokens/s at batch x seq, and greedy batched sampling with a KV cache.

  OPENBLAS_CORETYPE=SkylakeX OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/model_torch.py --model DIR --threads 2 --json

Write the checkpoint first, e.g. `rft model init --preset smollm-135m --out /tmp/smollm`.
Prints one JSON object with the keys rft's benchmark prints.
"""
import argparse
import json
import math
import resource
import struct
import time

import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n])
    dt = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        raw = bytearray(buf[8 + n + b : 8 + n + e])
        out[name] = torch.frombuffer(raw, dtype=dt[info["dtype"]]).reshape(info["shape"]).float()
    return out


def load_weights(d):
    import os
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        files = sorted(set(json.load(open(idx))["weight_map"].values()))
        W = {}
        for f in files:
            W.update(read_safetensors(os.path.join(d, f)))
        return W
    return read_safetensors(os.path.join(d, "model.safetensors"))


class Model:
    def __init__(self, cfg, W, rank):
        self.cfg, self.W = cfg, W
        self.H = cfg["num_attention_heads"]
        self.Hkv = cfg.get("num_key_value_heads", self.H)
        self.D = cfg.get("head_dim") or cfg["hidden_size"] // self.H
        self.eps = cfg["rms_norm_eps"]
        self.L = cfg["num_hidden_layers"]
        theta = cfg.get("rope_theta", 10000.0)
        self.inv = 1.0 / theta ** (torch.arange(0, self.D, 2).float() / self.D)
        self.lora = {}
        g = torch.Generator().manual_seed(0)
        for name, w in W.items():
            if name.endswith("_proj.weight"):
                out_f, in_f = w.shape
                A = ((torch.rand(rank, in_f, generator=g) * 2 - 1) / math.sqrt(in_f)).requires_grad_()
                B = torch.full((out_f, rank), 0.01).requires_grad_()
                self.lora[name[: -len(".weight")]] = (A, B, 2.0)
        self.head = W["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else W["lm_head.weight"]

    def lin(self, x, name):
        y = F.linear(x, self.W[name + ".weight"], self.W.get(name + ".bias"))
        A, B, s = self.lora[name]
        return y + F.linear(F.linear(x, A), B) * s

    def rope(self, x, pos):
        ang = pos[:, None].float() * self.inv[None, :]
        cos, sin = torch.cos(ang)[None, :, None, :], torch.sin(ang)[None, :, None, :]
        d2 = self.D // 2
        x1, x2 = x[..., :d2], x[..., d2:]
        return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)

    def norm(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w

    def forward(self, ids, cache=None, start=0):
        Bn, T = ids.shape
        x = self.W["model.embed_tokens.weight"][ids]
        pos = torch.arange(start, start + T)
        rep = self.H // self.Hkv
        for l in range(self.L):
            p = f"model.layers.{l}."
            h = self.norm(x, self.W[p + "input_layernorm.weight"])
            q = self.lin(h, p + "self_attn.q_proj").view(Bn, T, self.H, self.D)
            k = self.lin(h, p + "self_attn.k_proj").view(Bn, T, self.Hkv, self.D)
            v = self.lin(h, p + "self_attn.v_proj").view(Bn, T, self.Hkv, self.D)
            if p + "self_attn.q_norm.weight" in self.W:
                q = self.norm(q, self.W[p + "self_attn.q_norm.weight"])
                k = self.norm(k, self.W[p + "self_attn.k_norm.weight"])
            q, k = self.rope(q, pos).transpose(1, 2), self.rope(k, pos).transpose(1, 2)  # (B, heads, T, D)
            v = v.transpose(1, 2)
            if cache is not None:
                kc, vc = cache[l]
                kc[:, :, start : start + T] = k
                vc[:, :, start : start + T] = v
                k, v = kc[:, :, : start + T], vc[:, :, : start + T]
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
            s = q @ k.transpose(-1, -2) / math.sqrt(self.D)
            Tk = k.shape[2]
            mask = torch.ones(T, Tk, dtype=torch.bool).triu(Tk - T + 1)
            s = s.masked_fill(mask, float("-inf"))
            a = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(Bn, T, self.H * self.D)
            x = x + self.lin(a, p + "self_attn.o_proj")
            h = self.norm(x, self.W[p + "post_attention_layernorm.weight"])
            x = x + self.lin(F.silu(self.lin(h, p + "mlp.gate_proj")) * self.lin(h, p + "mlp.up_proj"), p + "mlp.down_proj")
        x = self.norm(x, self.W["model.norm.weight"])
        return F.linear(x, self.head)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lora-rank", type=int, default=16)
    ap.add_argument("--sample-seqs", type=int, default=16)
    ap.add_argument("--sample-tokens", type=int, default=64)
    ap.add_argument("--prompt-tokens", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cfg = json.load(open(f"{a.model}/config.json"))
    m = Model(cfg, load_weights(a.model), a.lora_rank)
    V = cfg["vocab_size"]
    ids = torch.randint(0, min(V, 100), (a.batch, a.seq))
    targets = torch.roll(ids.flatten(), -1)
    fwd, fb, smp = [], [], []
    for i in range(a.repeats + 1):
        t = time.perf_counter()
        with torch.no_grad():
            m.forward(ids)
        if i:
            fwd.append(a.batch * a.seq / (time.perf_counter() - t))
        t = time.perf_counter()
        loss = F.cross_entropy(m.forward(ids).view(-1, V), targets)
        loss.backward()
        if i:
            fb.append(a.batch * a.seq / (time.perf_counter() - t))
        for A, B, _ in m.lora.values():
            A.grad = None
            B.grad = None
        S, G, P = a.sample_seqs, a.sample_tokens, a.prompt_tokens
        prompts = torch.tensor([[(s * 7 + j * 3) % min(V, 100) for j in range(P)] for s in range(S)])
        t = time.perf_counter()
        with torch.no_grad():
            cache = [(torch.zeros(S, m.Hkv, P + G, m.D), torch.zeros(S, m.Hkv, P + G, m.D)) for _ in range(m.L)]
            logits = m.forward(prompts, cache, 0)[:, -1]
            for step in range(G - 1):
                nxt = logits.argmax(-1)
                logits = m.forward(nxt[:, None], cache, P + step)[:, -1]
        if i:
            smp.append(S * G / (time.perf_counter() - t))
        if not a.json:
            print(f"repeat {i or 'warm-up'}: fwd {fwd[-1] if fwd else 0:.1f} fwd+bwd {fb[-1] if fb else 0:.1f} sample {smp[-1] if smp else 0:.1f} tok/s")
    med = lambda xs: sorted(xs)[len(xs) // 2]
    res = {
        "fwd_tokens_per_s": med(fwd), "fwd_bwd_tokens_per_s": med(fb), "sample_tokens_per_s": med(smp),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }
    print(json.dumps(res))


if __name__ == "__main__":
    main()
