#!/usr/bin/env python3
"""Device benchmark: ember vs QEMU's microvm machine, side by side, on the same L2 guest
(Debian's kernel and the e2e initramfs), the same backing file, the same tap and the same tools:
virtio-block sequential read/write throughput and 4 KiB random-read IOPS (O_DIRECT), TCP
throughput over virtio-net both ways, vsock stream throughput both ways.

A wrapper around the end-to-end harness (tests/e2e): one scripted scenario,
tests/e2e/l1_scripts/device_bench.sh, runs the VMMs one after the other (in the order
ember qemu qemu ember ..., so that neither always goes first) inside the nested L1 VM (or here, on a host with hardware KVM), and the guest
side is tests/fixtures/guest/initramfs/e2e/devbench.sh with tests/fixtures/guest/tools/e2e_bench.c. Python 3 standard library.

    scripts/build-guest-artifacts.sh && cmake --build build --target ember-static
    python3 benchmarks/device_bench.py [--iterations 2] [--mib 32] [--seconds 5] [--json FILE]

Figures and how to read them: benchmarks/README.md ("Device benchmark").
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
from scenarios import NONZERO, Scenario  # noqa: E402

VMMS = ("ember", "qemu")
# (key, label, unit, where the figure comes from: (side, metric), field in e2e-bench's line)
METRICS = (
    ("seqread", "block sequential read, O_DIRECT 1 MiB", "MiB/s", ("guest", "seqread"), "mib_per_s"),
    ("seqwrite", "block sequential write, O_DIRECT 1 MiB", "MiB/s", ("guest", "seqwrite"), "mib_per_s"),
    ("randread", "block random read, O_DIRECT 4 KiB, QD1", "IOPS", ("guest", "randread"), "iops"),
    ("net_h2g", "net TCP host -> guest", "MiB/s", ("guest", "net-h2g"), "mib_per_s"),
    ("net_g2h", "net TCP guest -> host", "MiB/s", ("host", "net-g2h"), "mib_per_s"),
    ("vsock_h2g", "vsock host -> guest", "MiB/s", ("guest", "vsock-h2g"), "mib_per_s"),
    ("vsock_g2h", "vsock guest -> host", "MiB/s", ("host", "vsock-g2h"), "mib_per_s"),
)
# Per VMM run: the boot (up to a minute nested) plus the transfers; generous, it is a limit.
SECONDS_PER_VMM_RUN = 420

_BEGIN = re.compile(r"E2E-L1S bench begin (\w+) (\d+)")
_END = re.compile(r"E2E-L1S bench end (\w+) (\d+) status (\d+)")
_GUEST = re.compile(r"E2E-L2 bench (\S+) (.*)")
_HOST = re.compile(r"E2E-L1S bench (\w+) (\d+) (\S+) (.*)")
_NOTE = re.compile(r"E2E-L1S bench (qemu .*unavailable.*)")


def scenario(iterations: int, mib: int, seconds: int, vmms) -> Scenario:
    runs = iterations * len(vmms)
    return Scenario(
        "device_bench", "vmlinuz", 1, 256, "devbench", 0, l1_script="device_bench",
        l1_tools=("qemu",) if "qemu" in vmms else (),
        l1_env=(("BENCH_ITERATIONS", str(iterations)), ("BENCH_MIB", str(mib)),
                ("BENCH_SECONDS", str(seconds)), ("BENCH_VMMS", " ".join(vmms))),
        timeout_s=60 + SECONDS_PER_VMM_RUN * runs,
        required=tuple(rf"E2E-L1S bench end {vmm} \d+ status 0" for vmm in vmms))


def _field(text: str, name: str):
    m = re.search(rf"\b{name} ([\d.]+)", text)
    return float(m.group(1)) if m else None


def parse_console(lines):
    """{vmm: {metric key: [value per iteration]}}, failures and notes from the console."""
    samples = {vmm: {key: [] for key, *_ in METRICS} for vmm in VMMS}
    failures, notes = [], []
    current = None
    by_source = {source: (key, field) for key, _, _, source, field in METRICS}
    for line in lines:
        if m := _BEGIN.search(line):
            current = (m.group(1), m.group(2))
            continue
        if m := _END.search(line):
            if m.group(3) != "0":
                failures.append(f"{m.group(1)} run {m.group(2)}: VMM exit status {m.group(3)}")
            current = None
            continue
        if m := _NOTE.search(line):
            notes.append(m.group(1))
            continue
        if current is None:
            continue
        vmm, iteration = current
        source = text = None
        if m := _GUEST.search(line):
            source, text = ("guest", m.group(1)), m.group(2)
        elif (m := _HOST.search(line)) and (m.group(1), m.group(2)) == current:
            source, text = ("host", m.group(3)), m.group(4)
        if source is None or source not in by_source or vmm not in samples:
            continue
        key, field = by_source[source]
        value = _field(text, field)
        if value is None:
            failures.append(f"{vmm} run {iteration} {source[1]}: {text.strip()[:120]}")
        else:
            samples[vmm][key].append(value)
    return samples, failures, notes


def summarize(samples):
    summary = {"median": {}, "ratio": {}}
    for vmm in VMMS:
        summary["median"][vmm] = {k: (round(statistics.median(v), 2) if v else None)
                                  for k, v in samples[vmm].items()}
    for key, *_ in METRICS:
        e, q = summary["median"]["ember"][key], summary["median"]["qemu"][key]
        summary["ratio"][key] = round(e / q, 3) if e and q else None
    return summary


def table(summary, samples) -> str:
    fmt = lambda v: "n/a" if v is None else f"{v:.1f}"
    rows = ["| metric | unit | ember | QEMU microvm | ember/QEMU |",
            "|--------|------|-------|--------------|------------|"]
    for key, label, unit, _, _ in METRICS:
        e, q = summary["median"]["ember"][key], summary["median"]["qemu"][key]
        r = summary["ratio"][key]
        n = max(len(samples["ember"][key]), len(samples["qemu"][key]))
        spread = lambda vmm: ("" if len(samples[vmm][key]) < 2 else
                              " (" + ", ".join(f"{v:.1f}" for v in samples[vmm][key]) + ")")
        rows.append(f"| {label} | {unit} | {fmt(e)}{spread('ember')} | {fmt(q)}{spread('qemu')} "
                    f"| {'n/a' if r is None else f'{r:.2f}'} |" + ("" if n else " (no figure)"))
    return "\n".join(rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--iterations", type=int, default=2,
                   help="runs per VMM, in the order A B B A ... (default 2)")
    p.add_argument("--mib", type=int, default=32,
                   help="MiB per sequential block pass and per stream (default 32)")
    p.add_argument("--seconds", type=int, default=5, help="random-read seconds (default 5)")
    p.add_argument("--vmm", action="append", choices=VMMS,
                   help="only this VMM (repeatable; default both)")
    p.add_argument("--artifacts", default=str(ROOT / "build" / "guest-artifacts"))
    p.add_argument("--ember", default=str(ROOT / "build" / "bin" / "ember-static"))
    p.add_argument("--qemu", default="qemu-system-x86_64")
    p.add_argument("--mode", choices=("auto", "direct", "nested"), default="auto")
    p.add_argument("--json", help="write the results (every sample; the transcript goes next "
                                  "to it, .log) here")
    p.add_argument("-v", "--verbose", action="store_true", help="echo L1's whole console")
    args = p.parse_args()
    if args.iterations < 1 or args.mib < 1 or args.seconds < 1:
        p.error("--iterations, --mib and --seconds must be at least 1")
    vmms = tuple(v for v in VMMS if v in (args.vmm or VMMS))
    bench = scenario(args.iterations, args.mib, args.seconds, vmms)

    with tempfile.TemporaryDirectory(prefix="device-bench-") as tmp:
        results_path = Path(args.json) if args.json else Path(tmp) / "device-bench.json"
        e2e_argv = ["run", "--artifacts", args.artifacts, "--ember", args.ember,
                    "--qemu", args.qemu, "--mode", args.mode, "--results", str(results_path),
                    "--global-timeout", str(bench.timeout_s + 300)] + (["-v"] if args.verbose else [])
        print("device_bench: e2e.py " + " ".join(e2e_argv) + f"  (scenario {bench.name}: "
              f"{args.iterations} run(s) of {', '.join(vmms)}, {args.mib} MiB, "
              f"{args.seconds} s random reads)", flush=True)
        try:
            results, transcript = e2e.execute(e2e.build_parser().parse_args(e2e_argv), [bench])
        except (e2e.UsageError, e2e.artifacts_mod.ArtifactError, e2e.l1.L1BuildError) as e:
            print(f"device_bench: error: {e}", file=sys.stderr)
            return 1
        attempts = transcript.attempts.get(bench.name, [])
        lines = [line for _, line in attempts[-1].console] if attempts else []
        samples, failures, notes = parse_console(lines)
        summary = summarize(samples)
        verdict = results["scenarios"][bench.name]
        results["device_bench"] = {"samples": samples, "failures": failures, "notes": notes,
                                   "iterations": args.iterations, "mib": args.mib,
                                   "random_read_seconds": args.seconds, **summary}
        results_path.write_text(json.dumps(results, indent=1) + "\n")

    print(f"device_bench: mode {results['mode']}; scenario {verdict['result']}: "
          f"{verdict['detail']}")
    print(table(summary, samples))
    for note in notes:
        print(f"device_bench: note: {note}")
    for failure in failures:
        print(f"device_bench: no figure: {failure}")
    if results["mode"] == "nested":
        print("device_bench: measured inside the nested TCG L1: absolute figures mean nothing, "
              "only the side-by-side ratio of one run says something")
    got_ember = any(v is not None for v in summary["median"]["ember"].values())
    return 0 if got_ember and verdict["result"] == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
