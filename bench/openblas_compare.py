#!/usr/bin/python3
"""rft's native sgemm next to OpenBLAS on the shapes of `npm run bench -- gemm` (a tool, not a test).

Needs Debian's numpy on OpenBLAS (apt-get install python3-numpy libopenblas0-pthread) and a built
rft (npm install). Run from the package root with Debian's Python:

  /usr/bin/python3 bench/openblas_compare.py [--rounds 3] [--reps 11] [--cpu-time]

Each round runs OpenBLAS on 1 and on 2 threads (OPENBLAS_CORETYPE=SkylakeX, OMP_WAIT_POLICY=PASSIVE,
OPENBLAS_NUM_THREADS=1|2, each in a fresh process) and then `node dist/bench/main.js gemm --json`;
rounds alternate so that both see the same machine load. Prints a Markdown table of the medians over
rounds. `--cpu-time` compares one thread timed by process CPU time, which on a machine shared
with other work measures the kernels rather than the scheduler. `--worker` runs only the OpenBLAS part in this process (one JSON object per shape).
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


def measure(np, m, n, k, batch, trans_b, reps, cpu_time):
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
    clock = time.process_time if cpu_time else time.perf_counter
    times = []
    start = time.perf_counter()
    while len(times) < reps or (time.perf_counter() - start < 0.2 and len(times) < 200):
        t0 = clock()
        run()
        times.append(clock() - t0)
    return 2.0 * m * n * k * batch / statistics.median(times) / 1e9


def worker(reps, cpu_time):
    import numpy as np  # after OPENBLAS_* are set by the parent

    threads = int(os.environ.get("OPENBLAS_NUM_THREADS", "0") or 0)
    for m, n, k, batch, trans_b, _ in SHAPES:
        g = measure(np, m, n, k, batch, trans_b, reps, cpu_time)
        print(json.dumps({"m": m, "n": n, "k": k, "batch": batch, "threads": threads, "gflops": g}), flush=True)


def openblas(threads, reps, cpu_time):
    env = dict(os.environ, OPENBLAS_CORETYPE="SkylakeX", OMP_WAIT_POLICY="PASSIVE", OPENBLAS_NUM_THREADS=str(threads))
    cmd = [sys.executable, __file__, "--worker", "--reps", str(reps)] + (["--cpu-time"] if cpu_time else [])
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def rft(reps, cpu_time):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cmd = ["node", os.path.join(root, "dist", "bench", "main.js"), "gemm", "--json", "--reps", str(reps)]
    out = subprocess.run(cmd + (["--cpu-time"] if cpu_time else []), check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def key(r):
    return (r["m"], r["n"], r["k"], r["batch"], r["threads"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=11)
    ap.add_argument("--cpu-time", action="store_true",
                    help="one thread only, each call timed by process CPU time (the kernels' own speed on a busy machine)")
    ap.add_argument("--worker", action="store_true")
    args = ap.parse_args()
    if args.worker:
        worker(args.reps, args.cpu_time)
        return
    # OpenBLAS's idle threads spin between calls, so its CPU time only means something on one thread.
    thread_counts = (1,) if args.cpu_time else (1, 2)
    ob, ours, peaks = {}, {}, {}
    for rnd in range(args.rounds):
        for t in thread_counts:
            for r in openblas(t, args.reps, args.cpu_time):
                ob.setdefault(key(r), []).append(r["gflops"])
        res = rft(args.reps, args.cpu_time)
        for t, p in res["peak_gflops"].items():
            if int(t) in thread_counts:
                peaks.setdefault(int(t), []).append(p)
        for r in res["results"]:
            if r["threads"] in thread_counts:
                ours.setdefault(key(r), []).append(r["gflops"])
        print(f"round {rnd + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    med = statistics.median
    print("| shape | threads | FMA peak | rft | % of peak | OpenBLAS | rft / OpenBLAS |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for t in thread_counts:
        for m, n, k, batch, _, label in SHAPES:
            kk = (m, n, k, batch, t)
            if kk not in ours or kk not in ob:
                continue
            g, o, p = med(ours[kk]), med(ob[kk]), med(peaks.get(t, [float("nan")]))
            print(f"| {label} | {t} | {p:.0f} | {g:.1f} | {100 * g / p:.0f}% | {o:.1f} | {g / o:.2f}× |")


if __name__ == "__main__":
    main()
