"""opt_einsum peer for bench/networks.bench.ts.

Reads {"networks": [{"id", "inputs", "output", "sizes"}], "optimizers": [...], "repeat": k} on stdin (axis ids are integers,
sizes[id] their extents), plans each network with opt_einsum.contract_path on shapes alone, and prints one JSON
object on stdout (costs as logarithms: opt_einsum counts in Python integers, which
pass float range on the largest networks): {"info": {"opt_einsum": version}, "results": [{"id", "optimizer", "wall_ms",
"cpu_ms", "log10_cost", "log2_largest"} | {"id", "optimizer", "error"}]}. Each call is timed after one untimed call on
the same network (opt_einsum keeps no plan cache, so each call does the whole search again); with "repeat" (default 1),
the fastest of that many timed calls, by wall-clock time and (separately) by this process's CPU time, which a loaded
machine inflates far less.
"""
import json
import math
import sys
import time

import opt_einsum as oe


def subscripts(net):
    term = lambda ids: "".join(oe.get_symbol(i) for i in ids)
    return ",".join(term(t) for t in net["inputs"]) + "->" + term(net["output"])


def plan(net, optimizer):
    expr = subscripts(net)
    shapes = [tuple(net["sizes"][i] for i in t) for t in net["inputs"]]
    return oe.contract_path(expr, *shapes, shapes=True, optimize=optimizer)


def main():
    job = json.load(sys.stdin)
    repeat = int(job.get("repeat", 1))
    results = []
    for net in job["networks"]:
        for optimizer in job["optimizers"]:
            try:
                plan(net, optimizer)
                wall_ms = math.inf
                cpu_ms = math.inf
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    c0 = time.process_time()
                    _, info = plan(net, optimizer)
                    cpu_ms = min(cpu_ms, (time.process_time() - c0) * 1000)
                    wall_ms = min(wall_ms, (time.perf_counter() - t0) * 1000)
                results.append({"id": net["id"], "optimizer": optimizer, "wall_ms": wall_ms, "cpu_ms": cpu_ms,
                                "log10_cost": math.log10(info.opt_cost),
                                "log2_largest": math.log2(info.largest_intermediate)})
            except Exception as e:  # a failure is a result, not a crash of the benchmark
                results.append({"id": net["id"], "optimizer": optimizer, "error": f"{type(e).__name__}: {e}"[:120]})
    json.dump({"info": {"opt_einsum": oe.__version__}, "results": results}, sys.stdout)


if __name__ == "__main__":
    main()
