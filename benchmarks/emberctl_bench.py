#!/usr/bin/env python3
"""emberctl benchmark: a command in a cold microVM (`emberctl run -- true`: boot, agent, command,
teardown) against the same command in a warm clone (`emberctl pool run -- true`: restore of a
pool's snapshot, clock sync, command, teardown), in one run; and the memory of N warm clones
running at once against N times one cold VM (summed PSS of their ember processes).

A wrapper around the end-to-end harness (tests/e2e), like device_bench.py: one scripted scenario,
tests/e2e/l1_scripts/emberctl_bench.sh, runs inside the nested L1 VM (or here, on a host with
hardware KVM). Python 3 standard library only.

    scripts/build-guest-artifacts.sh && cmake --build build --target ember-static emberctl-static
    python3 benchmarks/emberctl_bench.py [--runs 3] [--clones 10] [--json FILE]

Figures and how to read them: benchmarks/README.md ("emberctl benchmark").
"""

import argparse
import json
from pathlib import Path
import re
import statistics
import sys
import tempfile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

import e2e  # noqa: E402
from scenarios import Scenario  # noqa: E402

_RUN = re.compile(r"E2E-L1S ebench (cold|warm) (\d+) (\d+) status (\d+)")
_CREATE = re.compile(r"E2E-L1S ebench pool-create (\d+)")
_PSS = re.compile(r"E2E-L1S ebench pss (cold-one|warm-clones) (\d+) (\d+)")


def scenario(runs: int, clones: int) -> Scenario:
    return Scenario(
        "emberctl_bench", "vmlinuz", 1, 256, "boot", 0, l1_script="emberctl_bench",
        l1_env=(("BENCH_RUNS", str(runs)), ("BENCH_CLONES", str(clones))),
        timeout_s=600 + 120 * runs, required=(r"E2E-L1S ebench done",))


def parse_console(lines):
    times = {"cold": [], "warm": []}
    failures, pss, create_ms = [], {}, None
    for line in lines:
        if m := _RUN.search(line):
            if m.group(4) != "0":
                failures.append(f"{m.group(1)} run {m.group(2)}: status {m.group(4)}")
            else:
                times[m.group(1)].append(int(m.group(3)))
        elif m := _CREATE.search(line):
            create_ms = int(m.group(1))
        elif m := _PSS.search(line):
            pss[m.group(1)] = {"processes": int(m.group(2)), "kib": int(m.group(3))}
    return times, create_ms, pss, failures


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=3, help="cold and warm runs each (default 3)")
    p.add_argument("--clones", type=int, default=10, help="warm clones at once for memory (default 10)")
    p.add_argument("--artifacts", default=str(ROOT / "build" / "guest-artifacts"))
    p.add_argument("--ember", default=str(ROOT / "build" / "bin" / "ember-static"))
    p.add_argument("--mode", choices=("auto", "direct", "nested"), default="auto")
    p.add_argument("--json", help="write the results here")
    p.add_argument("-v", "--verbose", action="store_true", help="echo L1's whole console")
    args = p.parse_args()
    if args.runs < 1 or args.clones < 1:
        p.error("--runs and --clones must be at least 1")
    bench = scenario(args.runs, args.clones)

    with tempfile.TemporaryDirectory(prefix="emberctl-bench-") as tmp:
        results_path = Path(args.json) if args.json else Path(tmp) / "emberctl-bench.json"
        e2e_argv = ["run", "--artifacts", args.artifacts, "--ember", args.ember, "--mode", args.mode,
                    "--results", str(results_path), "--global-timeout", str(bench.timeout_s + 300)]
        e2e_argv += ["-v"] if args.verbose else []
        print("emberctl_bench: e2e.py " + " ".join(e2e_argv), flush=True)
        try:
            results, transcript = e2e.execute(e2e.build_parser().parse_args(e2e_argv), [bench])
        except (e2e.UsageError, e2e.artifacts_mod.ArtifactError, e2e.l1.L1BuildError) as e:
            print(f"emberctl_bench: error: {e}", file=sys.stderr)
            return 1
        attempts = transcript.attempts.get(bench.name, [])
        lines = [line for _, line in attempts[-1].console] if attempts else []
        times, create_ms, pss, failures = parse_console(lines)
        verdict = results["scenarios"][bench.name]
        results["emberctl_bench"] = {"times_ms": times, "pool_create_ms": create_ms, "pss": pss,
                                     "failures": failures, "runs": args.runs, "clones": args.clones}
        results_path.write_text(json.dumps(results, indent=1) + "\n")

    print(f"emberctl_bench: mode {results['mode']}; scenario {verdict['result']}: {verdict['detail']}")
    cold = statistics.median(times["cold"]) if times["cold"] else None
    warm = statistics.median(times["warm"]) if times["warm"] else None
    fmt = lambda v: "n/a" if v is None else f"{v:.0f} ms"
    print(f"  emberctl run -- true (cold: boot)          median {fmt(cold)}  {times['cold']}")
    print(f"  emberctl pool run -- true (warm: restore)  median {fmt(warm)}  {times['warm']}")
    if cold and warm:
        print(f"  warm/cold ratio {warm / cold:.3f} (pool created once in {fmt(create_ms)})")
    if "cold-one" in pss and "warm-clones" in pss:
        one, many = pss["cold-one"]["kib"], pss["warm-clones"]
        print(f"  memory: {many['processes']} warm clones at once {many['kib']} KiB PSS; "
              f"{args.clones} x one cold VM {args.clones * one} KiB; ratio "
              f"{many['kib'] / max(1, args.clones * one):.3f}")
    for failure in failures:
        print(f"emberctl_bench: failed: {failure}")
    if results["mode"] == "nested":
        print("emberctl_bench: measured inside the nested TCG L1: absolute times are slow; compare "
              "the two columns of one run")
    return 0 if cold and warm and verdict["result"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
