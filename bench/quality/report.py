"""Markdown tables of the quality suite from its JSON lines (bench/quality/
run.sh writes them): NMI and ARI per dataset and method (mean and standard
deviation over seeds), wall times, and per method the mean NMI/ARI and the
mean rank over the datasets that every method could take.

    python3 bench/quality/report.py out/quality/*.jsonl > table.md
"""

import json
import statistics
import sys

CLASSIC = ("kmeans_raw", "kshape", "dtw_kmeans")


def load(paths):
    lines = []
    for path in paths:
        with open(path) as f:
            lines += [json.loads(l) for l in f if l.strip()]
    return lines


def method_order(methods):
    vrae = sorted(m for m in methods if m not in CLASSIC)
    return vrae + [m for m in CLASSIC if m in methods]


def ranks(scores):
    """Rank 1 for the highest score; ties share the mean of their ranks."""
    order = sorted(scores, key=lambda m: -scores[m])
    out, i = {}, 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for m in order[i : j + 1]:
            out[m] = (i + j) / 2 + 1
        i = j + 1
    return out


def main():
    lines = load(sys.argv[1:])
    datasets, methods, rows = [], set(), {}
    cells = {}  # (dataset, method) -> {"nmi": [...], "ari": [...], "seconds": [...], "note": str}
    for l in lines:
        d, m = l["dataset"], l["method"]
        if d not in datasets:
            datasets.append(d)
        methods.add(m)
        rows[d] = (l["rows"], l["classes"])
        cell = cells.setdefault((d, m), {"nmi": [], "ari": [], "seconds": [], "note": None})
        if "skipped" in l:
            cell["note"] = "n/a: " + l["skipped"]
        elif "error" in l:
            cell["note"] = "error: " + l["error"][:60]
        else:
            cell["nmi"].append(l["nmi"])
            cell["ari"].append(l["ari"])
        # CPU time where the line has it (robust to shared cores), else wall time.
        if l.get("cpu_seconds") is not None:
            cell["seconds"].append(l["cpu_seconds"])
        elif "seconds" in l:
            cell["seconds"].append(l["seconds"])
    methods = method_order(methods)

    def scored(d, m):
        c = cells.get((d, m))
        return c is not None and c["note"] is None and c["nmi"]

    def fmt(values):
        if len(values) == 1:
            return f"{values[0]:.3f}"
        return f"{statistics.mean(values):.3f} ±{statistics.stdev(values):.3f}"

    print("NMI and ARI: mean ± standard deviation over seeds.\n")
    header = "| dataset | rows | k | " + " | ".join(f"{m} NMI | {m} ARI" for m in methods) + " |"
    print(header)
    print("|" + " --- |" * 3 + " ---: |" * (2 * len(methods)))
    for d in datasets:
        cols = []
        for m in methods:
            c = cells.get((d, m))
            if c is None:
                cols += ["not run", ""]
            elif c["note"]:
                cols += [c["note"], ""]
            else:
                cols += [fmt(c["nmi"]), fmt(c["ari"])]
        print(f"| {d} | {rows[d][0]} | {rows[d][1]} | " + " | ".join(cols) + " |")

    common = [d for d in datasets if all(scored(d, m) for m in methods)]
    print(f"\nSummary. Means over each method's own datasets, and over the {len(common)} datasets that every method took "
          "(mean rank there: 1 is best, ties share).\n")
    print("| method | datasets | mean NMI | mean ARI | common: mean NMI | common: mean ARI | mean rank NMI | mean rank ARI | CPU seconds, all runs |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rank_nmi = {m: [] for m in methods}
    rank_ari = {m: [] for m in methods}
    for d in common:
        for key, target in (("nmi", rank_nmi), ("ari", rank_ari)):
            r = ranks({m: statistics.mean(cells[(d, m)][key]) for m in methods})
            for m in methods:
                target[m].append(r[m])
    mean = lambda v: f"{statistics.mean(v):.3f}" if v else "-"
    for m in methods:
        own = [d for d in datasets if scored(d, m)]
        nmi = [statistics.mean(cells[(d, m)]["nmi"]) for d in own]
        ari = [statistics.mean(cells[(d, m)]["ari"]) for d in own]
        cnmi = [statistics.mean(cells[(d, m)]["nmi"]) for d in common]
        cari = [statistics.mean(cells[(d, m)]["ari"]) for d in common]
        seconds = sum(sum(c["seconds"]) for (d2, m2), c in cells.items() if m2 == m)
        print(f"| {m} | {len(own)} | {mean(nmi)} | {mean(ari)} | {mean(cnmi)} | {mean(cari)} | "
              f"{mean(rank_nmi[m])} | {mean(rank_ari[m])} | {seconds:.0f} |")

    print("\nCPU time per run (seconds on one core, mean over seeds; wall time where a line has no CPU time).\n")
    print("| dataset | " + " | ".join(methods) + " |")
    print("| --- |" + " ---: |" * len(methods))
    for d in datasets:
        cols = []
        for m in methods:
            c = cells.get((d, m))
            cols.append(f"{statistics.mean(c['seconds']):.1f}" if c and c["seconds"] else "-")
        print(f"| {d} | " + " | ".join(cols) + " |")


if __name__ == "__main__":
    main()
