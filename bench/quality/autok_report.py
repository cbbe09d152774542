"""The table of bench/quality/autok.sh: per dataset the number of classes,
the k each method chose (per seed) and its NMI; per method how often it
chose the number of classes exactly, how far off it was on average, and its
mean NMI (over the datasets that both methods took, and over all its own).

    python3 bench/quality/autok_report.py MAX out/autok/*.jsonl
"""

import json
import statistics
import sys


def main():
    top = int(sys.argv[1])
    lines = []
    for path in sys.argv[2:]:
        with open(path) as f:
            lines += [json.loads(l) for l in f if l.strip()]
    runs = {}
    datasets = []
    for l in lines:
        if "nmi" not in l:
            continue
        if l["dataset"] not in datasets:
            datasets.append(l["dataset"])
        runs.setdefault((l["dataset"], l["method"]), []).append(l)
    methods = sorted({m for _, m in runs})
    print(f"k chosen in 2..={top}; a class count above {top} cannot be matched.\n")
    print("| dataset | classes | " + " | ".join(f"{m} k | {m} NMI" for m in methods) + " |")
    print("| --- | ---: |" + " ---: | ---: |" * len(methods))
    for d in datasets:
        cells = []
        classes = None
        for m in methods:
            rs = sorted(runs.get((d, m), []), key=lambda r: r.get("seed", 0))
            if not rs:
                cells += ["n/a", ""]
                continue
            classes = rs[0]["classes"]
            cells += [", ".join(str(r["k"]) for r in rs), f"{statistics.mean(r['nmi'] for r in rs):.3f}"]
        print(f"| {d} | {classes} | " + " | ".join(cells) + " |")
    common = [d for d in datasets if all((d, m) in runs for m in methods)]
    print("\n| method | datasets | exact k | mean abs(k - classes) | mean NMI | common: exact k | common: mean abs(k - classes) | common: mean NMI | at most MAX classes: exact k, within one |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for m in methods:
        def stats(names):
            rs = [r for d in names for r in runs.get((d, m), [])]
            exact = sum(r["k"] == r["classes"] for r in rs) / max(len(rs), 1)
            off = statistics.mean(abs(r["k"] - r["classes"]) for r in rs) if rs else float("nan")
            nmi = statistics.mean(statistics.mean(r["nmi"] for r in runs[(d, m)]) for d in names if (d, m) in runs)
            return f"{exact:.0%} | {off:.2f} | {nmi:.3f}"
        own = [d for d in datasets if (d, m) in runs]
        reachable = [r for d in own for r in runs[(d, m)] if r["classes"] <= top]
        exact = sum(r["k"] == r["classes"] for r in reachable) / max(len(reachable), 1)
        near = sum(abs(r["k"] - r["classes"]) <= 1 for r in reachable) / max(len(reachable), 1)
        print(f"| {m} | {len(own)} | {stats(own)} | {stats(common)} | {exact:.0%}, {near:.0%} ({len(reachable)} fits) |")


if __name__ == "__main__":
    main()
