#!/usr/bin/python3
"""rft's native sgemm next to OpenBLAS on the shapes of `npm run bench -- gemm` (a tool, not a test).

Needs Debian's numpy on OpenBLAS (apt-get install python3-numpy libopenblas0-pthread) and a built
rft (npm install). Run from the package root with Debian's Python:

  /usr/bin/python3 bench/openblas_compare.py [--rounds 3] [--reps 11]

Each round runs OpenBLAS on 1 and on 2 threads (OPENBLAS_CORETYPE=SkylakeX, OMP_WAIT_POLICY=PASSIVE,
OPENBLAS_NUM_THREADS=1|2, each in a fresh process) and then `node dist/bench/main.js gemm --json`;
rounds alternate so that both see the same machine load. Prints a Markdown table of the medians over
rounds. `--worker` runs only the OpenBLAS part in this process (one JSON object per shape).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SHAPES = [  # (m, n, k, batch, transB, label) — as in bench/gemm.ts
    (1024, 1024, 1024, 1, False, "1024³"),
    (64, 2048, 2048, 1, False, "64×2048×2048"),
    (2048, 64, 2048, 1, False, "2048×64×2048"),
    (256, 256, 256, 1, False, "256³"),
    (256, 256, 64, 36, True, "36 × 256×256×64, A·Bᵀ"),
]


def measure(np, m, n, k, batch, trans_b, reps):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((batch, m, k), dtype=np.float32)
    b = rng.standard_normal((batch, n, k) if trans_b else (batch, k, n), dtype=np.float32)
    c = np.empty((batch, m, n), dtype=np.float32)
    bt = b.transpose(0, 2, 1) if trans_b else b  # a transposed view: numpy hands it to sgemm as Bᵀ

    def run():
        if batch == 1:
            np.matmul(a[0], bt[0], out=c[0])
        else:  # numpy's batched matmul calls sgemm once per matrix
            np.matmul(a, bt, out=c)

    run()
    times = []
    start = time.perf_counter()
    while len(times) < reps or (time.perf_counter() - start < 0.2 and len(times) < 200):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return 2.0 * m * n * k * batch / statistics.median(times) / 1e9


def worker(reps):
    import numpy as np  # after OPENBLAS_* are set by the parent

    threads = int(os.environ.get("OPENBLAS_NUM_THREADS", "0") or 0)
    for m, n, k, batch, trans_b, _ in SHAPES:
        g = measure(np, m, n, k, batch, trans_b, reps)
        print(json.dumps({"m": m, "n": n, "k": k, "batch": batch, "threads": threads, "gflops": g}), flush=True)


def openblas(threads, reps):
    env = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX", OMP_WAIT_POLICY="PASSIVE", OPENBLAS_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, __file__, "--worker", "--reps", str(reps)], env=env, check=True,
                         capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def rft(reps):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = subprocess.run(["node", os.path.join(root, "dist", "bench", "main.js"), "gemm", "--json", "--reps", str(reps)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def key(r):
    return (r["m"], r["n"], r["k"], r["batch"], r["threads"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=11)
    ap.add_argument("--worker", action="store_true")
    args = ap.parse_args()
    if args.worker:
        worker(args.reps)
        return
    ob, ours, peaks = {}, {}, {}
    for rnd in range(args.rounds):
        for t in (1, 2):
            for r in openblas(t, args.reps):
                ob.setdefault(key(r), []).append(r["gflops"])
        res = rft(args.reps)
        for t, p in res["peak_gflops"].items():
            peaks.setdefault(int(t), []).append(p)
        for r in res["results"]:
            ours.setdefault(key(r), []).append(r["gflops"])
        print(f"round {rnd + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    med = statistics.median
    print("| shape | threads | FMA peak | rft | % of peak | OpenBLAS | rft / OpenBLAS |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for t in (1, 2):
        for m, n, k, batch, _, label in SHAPES:
            kk = (m, n, k, batch, t)
            if kk not in ours or kk not in ob:
                continue
            g, o, p = med(ours[kk]), med(ob[kk]), med(peaks.get(t, [float("nan")]))
            print(f"| {label} | {t} | {p:.0f} | {g:.1f} | {100 * g / p:.0f}% | {o:.1f} | {g / o:.2f}× |")


if __name__ == "__main__":
    main()
