"""numpy peer for einjit's CPU benchmark.

Reads a JSON job list on stdin, times each job with the same warm-up/repeat rule as bench/harness.ts and prints
one JSON object on stdout: {"info": {...}, "results": [{"id", "samples_ms"} | {"id", "error"}]}.

The caller sets the BLAS environment (one thread); this script only reports which kernel OpenBLAS picked.
Job kinds: einsum (np.einsum(pattern, ..., optimize=True)), matmul (np.matmul, optionally with the second
operand's last two axes swapped), matmul_chain (a @ b @ c ...), transpose (a copy in the permuted order),
diagonal (a copy of the main diagonal). Every result is made contiguous, as einjit's is.
"""
import ctypes
import glob
import json
import os
import sys
import time

import numpy as np


def blas_info():
    info = {"numpy": np.__version__}
    try:
        import threadpoolctl

        pools = threadpoolctl.threadpool_info()
        info["threadpoolctl"] = [
            {k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads", "threading_layer")}
            for p in pools
        ]
    except ImportError:
        info["threadpoolctl"] = None
        # Fallback: ask the OpenBLAS that numpy bundles directly.
        libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs", "*openblas*"))
        for path in libs:
            try:
                lib = ctypes.CDLL(path)
                for prefix, suffix in (("scipy_openblas_", "64_"), ("scipy_openblas_", ""), ("openblas_", "")):
                    fn = getattr(lib, f"{prefix}get_corename{suffix}", None)
                    if fn is None:
                        continue
                    fn.restype = ctypes.c_char_p
                    info["openblas_corename"] = fn().decode()
                    threads = getattr(lib, f"{prefix}get_num_threads{suffix}", None)
                    if threads is not None:
                        info["openblas_num_threads"] = threads()
                    config = getattr(lib, f"{prefix}get_config{suffix}", None)
                    if config is not None:
                        config.restype = ctypes.c_char_p
                        info["openblas_config"] = config().decode().strip()
                    break
            except OSError:
                pass
    return info


def make_fn(job, rng):
    arrays = [rng.standard_normal(tuple(s), dtype=np.float32) for s in job["shapes"]]
    kind = job["kind"]
    if kind == "einsum":
        pattern = job["pattern"]
        return lambda: np.ascontiguousarray(np.einsum(pattern, *arrays, optimize=True))
    if kind == "matmul":
        a, b = arrays
        if job.get("transposeB"):
            b = b.swapaxes(-1, -2)
        return lambda: np.matmul(a, b)
    if kind == "matmul_chain":
        def chain():
            out = arrays[0]
            for x in arrays[1:]:
                out = out @ x
            return out
        return chain
    if kind == "transpose":
        perm = tuple(job["perm"])
        (a,) = arrays
        return lambda: np.ascontiguousarray(a.transpose(perm))
    if kind == "diagonal":
        (a,) = arrays
        return lambda: np.diagonal(a).copy()
    raise ValueError(f"unknown job kind {kind!r}")


def measure(fn, m):
    spent = 0.0
    for i in range(m["warmup"]):
        if i > 0 and spent >= m["minTimeMs"]:
            break
        t0 = time.perf_counter()
        fn()
        spent += (time.perf_counter() - t0) * 1e3
    samples = []
    total = 0.0
    while len(samples) < m["minReps"] or (total < m["minTimeMs"] and len(samples) < m["maxReps"]):
        t0 = time.perf_counter()
        fn()
        dt = (time.perf_counter() - t0) * 1e3
        samples.append(dt)
        total += dt
    return samples


def main():
    request = json.load(sys.stdin)
    rng = np.random.default_rng(0)
    results = []
    for job in request["jobs"]:
        try:
            fn = make_fn(job, rng)
            # A job with "calls" times that many calls per sample (a per-call cost below the timer's resolution)
            # and reports the time per call.
            calls = job.get("calls", 1)
            many = fn if calls == 1 else (lambda f=fn: [f() for _ in range(calls)])
            samples = measure(many, request["measure"])
            results.append({"id": job["id"], "samples_ms": [t / calls for t in samples]})
        except Exception as e:  # reported per job, as the JS peers' errors are
            results.append({"id": job["id"], "error": f"{type(e).__name__}: {e}"})
        fn = None
    json.dump({"info": blas_info(), "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
