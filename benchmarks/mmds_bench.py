#!/usr/bin/env python3
"""MMDS benchmark: sequential HTTP GETs from inside the guest (Debian's kernel, the e2e
initramfs, busybox wget: a new process and a new TCP connection each) against ember's metadata
service (V2, 169.254.169.254 over eth0) and, in the same run, against a peer on the tap (busybox
httpd in L1) serving the same body at the same path: requests per second and time to first
byte, side by side; and the same GETs to a busybox httpd inside the guest on loopback, the floor
that wget and the guest's own TCP cost without any device.

A wrapper around the end-to-end harness (tests/e2e), like device_bench.py: one scripted
scenario, tests/e2e/l1_scripts/mmds_bench.sh, runs ember inside the nested L1 VM (or here, on a
host with hardware KVM); the guest side is tests/fixtures/guest/initramfs/e2e/mmds_bench.sh.
Python 3 standard library only.

    scripts/build-guest-artifacts.sh && cmake --build build --target ember-static
    python3 benchmarks/mmds_bench.py [--requests 50] [--rounds 2] [--json FILE]

Figures and how to read them: benchmarks/README.md ("MMDS benchmark").
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

TARGETS = ("mmds", "peer", "loopback")
BODY = "ami-e2e"
_LINE = re.compile(
    r"E2E-L2 mmdsbench (mmds|peer|loopback) round (\d+) requests (\d+) ok (\d+) seconds ([\d.]+) "
    r"rps ([\d.]+) ttfb_ms median ([-\d.]+) p90 ([-\d.]+) min ([-\d.]+) "
    r"request_ms median ([-\d.]+) p90 ([-\d.]+) body ?(.*)")
# (key, label, unit, group of _LINE)
METRICS = (
    ("rps", "requests per second (sequential, new connection each)", "req/s", 6),
    ("ttfb_median", "time to first byte, median", "ms", 7),
    ("ttfb_p90", "time to first byte, p90", "ms", 8),
    ("ttfb_min", "time to first byte, min", "ms", 9),
    ("request_median", "whole request (wget start to exit), median", "ms", 10),
)


def scenario(requests: int, rounds: int) -> Scenario:
    return Scenario(
        "mmds_bench", "vmlinuz", 1, 256, "mmds_bench", 0, l1_script="mmds_bench",
        extra_boot_args=f"e2e.mmds_requests={requests} e2e.mmds_rounds={rounds}",
        # The boot (up to a minute nested) plus the batches: a limit, not an estimate.
        timeout_s=300 + 3 * rounds * requests,
        required=(r"E2E-L2 mmdsbench done", r"E2E-L1S mmdsbench ember exited with status 0"))


def parse_console(lines):
    """{target: {metric: [value per round]}} and the problems seen."""
    samples = {t: {key: [] for key, *_ in METRICS} for t in TARGETS}
    problems = []
    for line in lines:
        m = _LINE.search(line)
        if not m:
            continue
        target, rnd, n, ok = m.group(1), m.group(2), int(m.group(3)), int(m.group(4))
        body = m.group(12).strip()
        if ok != n or n == 0:
            problems.append(f"{target} round {rnd}: {ok} of {n} answered 200")
            continue
        if body != BODY:
            problems.append(f"{target} round {rnd}: body {body!r}, expected {BODY!r}")
            continue
        for key, _, _, group in METRICS:
            samples[target][key].append(float(m.group(group)))
    return samples, problems


def summarize(samples):
    median = {t: {k: (round(statistics.median(v), 2) if v else None) for k, v in samples[t].items()}
              for t in TARGETS}
    ratio = {}
    for key, *_ in METRICS:
        a, b = median["mmds"][key], median["peer"][key]
        ratio[key] = round(a / b, 3) if a and b else None
    return {"median": median, "ratio": ratio}


def table(summary, samples) -> str:
    fmt = lambda v: "n/a" if v is None else f"{v:.2f}"
    spread = lambda t, k: ("" if len(samples[t][k]) < 2 else
                           " (" + ", ".join(f"{v:.2f}" for v in samples[t][k]) + ")")
    rows = ["| metric | unit | MMDS (ember) | peer on the tap (L1 httpd) | MMDS/peer | guest loopback httpd (floor) |",
            "|--------|------|--------------|----------------------------|-----------|------------------------------|"]
    for key, label, unit, _ in METRICS:
        rows.append(f"| {label} | {unit} | {fmt(summary['median']['mmds'][key])}{spread('mmds', key)} "
                    f"| {fmt(summary['median']['peer'][key])}{spread('peer', key)} "
                    f"| {fmt(summary['ratio'][key])} "
                    f"| {fmt(summary['median']['loopback'][key])}{spread('loopback', key)} |")
    return "\n".join(rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=50, help="GETs per batch (default 50)")
    p.add_argument("--rounds", type=int, default=2,
                   help="batches per target, alternating which goes first (default 2)")
    p.add_argument("--artifacts", default=str(ROOT / "build" / "guest-artifacts"))
    p.add_argument("--ember", default=str(ROOT / "build" / "bin" / "ember-static"))
    p.add_argument("--mode", choices=("auto", "direct", "nested"), default="auto")
    p.add_argument("--json", help="write the results (every sample; the transcript goes next "
                                  "to it, .log) here")
    p.add_argument("-v", "--verbose", action="store_true", help="echo L1's whole console")
    args = p.parse_args()
    if args.requests < 1 or args.rounds < 1:
        p.error("--requests and --rounds must be at least 1")
    bench = scenario(args.requests, args.rounds)

    with tempfile.TemporaryDirectory(prefix="mmds-bench-") as tmp:
        results_path = Path(args.json) if args.json else Path(tmp) / "mmds-bench.json"
        e2e_argv = ["run", "--artifacts", args.artifacts, "--ember", args.ember,
                    "--mode", args.mode, "--results", str(results_path),
                    "--global-timeout", str(bench.timeout_s + 300)] + (["-v"] if args.verbose else [])
        print("mmds_bench: e2e.py " + " ".join(e2e_argv) + f"  (scenario {bench.name}: "
              f"{args.rounds} round(s) of {args.requests} GETs per target)", flush=True)
        try:
            results, transcript = e2e.execute(e2e.build_parser().parse_args(e2e_argv), [bench])
        except (e2e.UsageError, e2e.artifacts_mod.ArtifactError, e2e.l1.L1BuildError) as e:
            print(f"mmds_bench: error: {e}", file=sys.stderr)
            return 1
        attempts = transcript.attempts.get(bench.name, [])
        lines = [line for _, line in attempts[-1].console] if attempts else []
        samples, problems = parse_console(lines)
        summary = summarize(samples)
        verdict = results["scenarios"][bench.name]
        results["mmds_bench"] = {"samples": samples, "problems": problems,
                                 "requests": args.requests, "rounds": args.rounds, **summary}
        results_path.write_text(json.dumps(results, indent=1) + "\n")

    print(f"mmds_bench: mode {results['mode']}; scenario {verdict['result']}: {verdict['detail']}")
    print(table(summary, samples))
    for problem in problems:
        print(f"mmds_bench: no figure: {problem}")
    if results["mode"] == "nested":
        print("mmds_bench: measured inside the nested TCG L1: absolute figures mean little, "
              "compare the columns of one run")
    got = all(samples[t]["rps"] for t in ("mmds", "peer"))
    return 0 if got and verdict["result"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
