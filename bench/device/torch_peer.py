"""PyTorch peer of bench/device/bench.ts: times the same workloads on CUDA (fp32, TF32 off) with CUDA events.

Reads {"deadline_s": float, "workloads": [{"name", "kind", "shapes", "expr", "iters"?}]} on stdin and prints one
JSON object: {"device", "torch", "copy_gbs", "rows": [{"name", "ms"} | {"name", "skipped"}]}. Every `expr` is a
Python expression over x0, x1, ... (the inputs, random on the device); kind 'loop' times `iters` evaluations of
expr as one sample (small-op loops: milliseconds per evaluation of the whole loop).
"""
import json
import sys
import time

import torch

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
start = time.perf_counter()
req = json.loads(sys.stdin.read())
deadline = req["deadline_s"]
dev = "cuda" if torch.cuda.is_available() else "cpu"


def left():
    return time.perf_counter() - start < deadline


def bench(f, min_ms=30.0, repeats=7):
    """Median milliseconds of one call of f: events around a batch of calls sized to run for about min_ms."""
    f()
    if dev != "cuda":
        t0 = time.perf_counter()
        f()
        return (time.perf_counter() - t0) * 1000
    torch.cuda.synchronize()
    e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    e0.record()
    f()
    e1.record()
    torch.cuda.synchronize()
    one = max(e0.elapsed_time(e1), 1e-3)
    iters = int(min(500, max(3, min_ms / one)))
    samples = []
    for _ in range(repeats):
        e0.record()
        for _ in range(iters):
            f()
        e1.record()
        torch.cuda.synchronize()
        samples.append(e0.elapsed_time(e1) / iters)
    samples.sort()
    return samples[len(samples) // 2]


out = {"device": torch.cuda.get_device_name(0) if dev == "cuda" else "cpu", "torch": torch.__version__, "rows": []}
# Device-to-device copy bandwidth, bytes read plus written, 1 GiB.
if dev == "cuda":
    src = torch.rand(2**28, device=dev)
    dst = torch.empty_like(src)
    ms = bench(lambda: dst.copy_(src))
    out["copy_gbs"] = 2 * src.numel() * 4 / ms / 1e6
    out["copy_ms_1gib"] = ms
    del src, dst
for w in req["workloads"]:
    if not left():
        out["rows"].append({"name": w["name"], "skipped": "time guard"})
        continue
    try:
        g = torch.Generator(device=dev)
        g.manual_seed(1)
        xs = [torch.rand(*s, device=dev, generator=g) - 0.5 for s in w["shapes"]]
        f = eval("lambda " + ", ".join("x%d" % i for i in range(len(xs))) + ": " + w["expr"], {"torch": torch})
        if w["kind"] == "loop":
            n = w.get("iters", 1000)

            def run_loop(f=f, xs=xs, n=n):
                y = xs[0]
                for _ in range(n):
                    y = f(y, *xs[1:])
                return y

            ms = bench(run_loop, min_ms=1, repeats=5)
            out["rows"].append({"name": w["name"], "ms": ms, "us_per_op": ms * 1000 / n})
        else:
            out["rows"].append({"name": w["name"], "ms": bench(lambda: f(*xs))})
        del xs
    except Exception as e:  # noqa: BLE001 - reported, not hidden
        out["rows"].append({"name": w["name"], "skipped": "%s: %s" % (type(e).__name__, e)})
    if dev == "cuda":
        torch.cuda.empty_cache()
print(json.dumps(out))
