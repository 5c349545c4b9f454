"""Render time per invoice in a warm worker: PDF (WeasyPrint, PDF/A-3b) + EN 16931 XML + XSD + Factur-X embedding.

Usage: python bench/render_time.py [--runs 100] [--items 1 5 10 20 45]

The target is 250 ms per invoice; each line says whether its p50 and p99 are within it. An invoice dictated in a
voice note has a handful of items (the samples: 2 or 3); 45 items over several pages is the layout stress case.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from documents.files import render_e_invoice  # noqa: E402
from documents.warmup import build_sample_document, warm_up  # noqa: E402


def measure(items: int, runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds per render of an invoice with `items` lines, after one warm-up render.

    The CPU time of this process tells a slow render from one that waited for a core (the machine is shared).
    """
    doc = build_sample_document(items)
    render_e_invoice(doc)
    wall, cpu = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        render_e_invoice(doc)
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    return wall, cpu


TARGET_MS = 250.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--items", type=int, nargs="+", default=[1, 5, 10, 20, 45])
    args = parser.parse_args()
    print(f"cold first render: {warm_up() * 1000:.0f} ms")
    for items in args.items:
        wall, cpu = measure(items, args.runs)
        timings = sorted(wall)
        p50, p99 = statistics.median(timings), timings[min(len(timings) - 1, int(len(timings) * 0.99))]
        verdict = "met" if p99 <= TARGET_MS else "p50 only" if p50 <= TARGET_MS else "missed"
        print(f"{items:>3} items: p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   "
              f"max {timings[-1]:6.1f} ms   cpu p50 {statistics.median(cpu):6.1f} ms   ({args.runs} runs)   "
              f"target {TARGET_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
