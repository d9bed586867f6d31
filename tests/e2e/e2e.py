#!/usr/bin/env python3
"""ember's end-to-end tests: Debian's stock kernel booted by ember, judged from its console.

  e2e.py list                      scenario names, one a line (CMake makes one test of each)
  e2e.py run [--bench] ...         run the scenarios (and the boot benchmark), write results
  e2e.py check NAME --results F    exit 0 iff scenario NAME passed in F (ctest)
  e2e.py shell                     the demo: an interactive shell in the guest, on ember

Modes: direct (this host's /proc/cpuinfo has vmx or svm and /dev/kvm opens: ember runs here)
or nested (otherwise: ember runs inside one QEMU TCG VM, "L1", whose kvm_amd gives it a real
KVM). See tests/e2e/README.md. Python 3 standard library only.
"""

import argparse
import json
import os
from pathlib import Path
import shutil
import signal
import sys
import time
from typing import Dict, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

import artifacts as artifacts_mod  # noqa: E402
import direct  # noqa: E402
import judge  # noqa: E402
import l1  # noqa: E402
import nested  # noqa: E402
import plan  # noqa: E402
from protocol import Attempt  # noqa: E402
from scenarios import SCENARIOS, by_name  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ARTIFACTS = ROOT / "build" / "guest-artifacts"
DEFAULT_EMBER = ROOT / "build" / "bin" / "ember-static"
DEFAULT_RESULTS = ROOT / "build" / "e2e-results.json"
DEFAULT_TIMEOUT = 150         # per attempt; a nested L2 boot takes 15-55 s here, more under load
GLOBAL_TIMEOUT = 600          # the whole L1 run, without the benchmark
GLOBAL_PER_BENCH_ITERATION = 120
L1_RESTARTS = 12              # fresh L1 boots for the runs a wedged L1 left unfinished
L1_LOSSES_PER_RUN = 4         # a run during which L1 stopped this often is not tried again


class UsageError(Exception):
    pass


def detect_mode(requested: str):
    """(mode, reason). auto: direct when the CPU flags show vmx/svm and /dev/kvm opens."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = {w for line in f if line.startswith("flags") for w in line.split()}
    except OSError as e:
        flags, cpuinfo_error = set(), str(e)
    else:
        cpuinfo_error = ""
    hw = sorted(flags & {"vmx", "svm"})
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC))
        kvm_error = ""
    except OSError as e:
        kvm_error = f"/dev/kvm does not open ({e.strerror})"
    if requested != "auto":
        return requested, f"--mode {requested} given"
    if hw and not kvm_error:
        return "direct", f"/proc/cpuinfo has {'+'.join(hw)} and /dev/kvm opens"
    why = kvm_error or (f"/proc/cpuinfo unreadable ({cpuinfo_error})" if cpuinfo_error else
                        "no vmx/svm in /proc/cpuinfo: this host's /dev/kvm cannot run a "
                        "stock kernel to userspace")
    return "nested", why + "; ember runs inside a QEMU TCG VM with nested KVM"


def _existing(path: Path, what: str) -> Path:
    if not path.is_file():
        raise UsageError(f"{what} {path} does not exist (build it first: cmake --build build)")
    return path.resolve()


def _qemu(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise UsageError(f"{name} not found (Debian package qemu-system-x86)")
    return found


def _selected(only):
    table = by_name()
    if not only:
        return list(SCENARIOS)
    unknown = [n for n in only if n not in table]
    if unknown:
        raise UsageError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(table)}")
    return [s for s in SCENARIOS if s.name in only]


def cmd_list(_args) -> int:
    for scenario in SCENARIOS:
        print(scenario.name)
    return 0


def cmd_run(args) -> int:
    results, _ = execute(args)
    return _report(results, args.bench or args.bench_only, args.harness_status)


def execute(args, scenarios=None):
    """Runs the selected scenarios (or `scenarios`: Scenario objects, e.g. a benchmark's own,
    not in the table) and the boot benchmark as `args` (from build_parser()) say; writes the
    results JSON and returns (results, transcript)."""
    results_path = Path(args.results).resolve()
    results_path.parent.mkdir(parents=True, exist_ok=True)
    if results_path.exists():
        results_path.unlink()  # never let `check` read a stale file
    log_path = Path(args.log).resolve() if args.log else results_path.with_suffix(".log")
    mode, reason = detect_mode(args.mode)
    print(f"e2e: mode {mode}: {reason}", flush=True)
    if scenarios is None:
        scenarios = [] if args.bench_only else _selected(args.only)
    bench = args.bench or args.bench_only
    art = artifacts_mod.load(Path(args.artifacts).resolve(), need_l1=(mode == "nested"))
    ember = _existing(Path(args.ember), "ember binary")
    runs = plan.scenario_runs(scenarios, args.timeout)
    # QEMU microvm inside L1 (or here, in direct mode): the benchmark, and the scripted
    # scenarios that ask for it (l1_tools=("qemu",)).
    vm_qemu = bench or any("qemu" in r.l1_tools for r in runs)
    qemu = _qemu(args.qemu) if (mode == "nested" or vm_qemu) else None
    if bench:
        runs += plan.bench_runs(args.bench_iterations, args.timeout)
    print(f"e2e: {len(scenarios)} scenario(s){', benchmark' if bench else ''}; ember {ember}; "
          f"artifacts {art.root}; log {log_path}", flush=True)

    started = time.monotonic()
    results = {"mode": mode, "mode_reason": reason, "ember": str(ember),
               "artifacts": str(art.root), "log": str(log_path)}
    with open(log_path, "w") as log:
        if mode == "nested":
            transcript, why_missing = _run_nested(args, art, ember, runs, qemu, bench, vm_qemu,
                                                  log)
            results["l1"] = {"end": why_missing, "progress": transcript.l1_progress,
                             "errors": transcript.l1_errors}
        else:
            transcript = direct.run(art, ember, runs, qemu, log, _print_progress)
            why_missing = "not run"
    results["seconds"] = round(time.monotonic() - started, 1)
    results["scenarios"] = {
        s.name: judge.judge_scenario(s, transcript.attempts.get(s.name, []),
                                     len(transcript.attempts.get(s.name, [])) > 1, why_missing)
        for s in scenarios}
    if bench:
        results["bench"] = judge.bench_summary(transcript, args.bench_iterations)
        results["bench"].update(plan.bench_commands())
    results_path.write_text(json.dumps(results, indent=1) + "\n")
    return results, transcript


def _print_progress(attempt: Attempt) -> None:
    if attempt.status is not None:
        flag = " (timed out)" if attempt.timed_out else ""
        print(f"e2e:   {attempt.run_id} attempt {attempt.number}: exit status "
              f"{attempt.status} after {attempt.seconds:.1f} s{flag}", flush=True)


def default_global_timeout(scenario_runs, bench_iterations: int) -> float:
    """GLOBAL_TIMEOUT, or more for many (or long) scenarios: half of their time limits, which
    is more than they take even on a loaded machine. (A wedged L1 is caught sooner, by its
    silence.)"""
    return (max(GLOBAL_TIMEOUT, 120 + sum(r.timeout_s for r in scenario_runs) / 2)
            + GLOBAL_PER_BENCH_ITERATION * bench_iterations)


def lost_run(transcript, runs) -> Optional[str]:
    """The run L1 was in when it stopped: begun in `transcript`, never ended."""
    for run in runs:
        attempts = transcript.attempts.get(run.run_id)
        if attempts and attempts[-1].status is None:
            return run.run_id
    return None


def restart_runs(runs, transcript, lost: Optional[str], losses: Dict[str, int]) -> list:
    """The runs a fresh L1 takes on: those without an ended attempt in `transcript`, in their
    order, except `lost` (the run L1 stopped in), which goes last, so that a run that keeps
    stopping L1 cannot keep the others from running, and which is left out once L1 has stopped
    L1_LOSSES_PER_RUN times during it."""
    finished = {rid for rid, attempts in transcript.attempts.items()
                if attempts and attempts[-1].status is not None}
    rest = [r for r in runs if r.run_id not in finished and r.run_id != lost]
    if lost is not None and losses.get(lost, 0) < L1_LOSSES_PER_RUN:
        rest += [r for r in runs if r.run_id == lost]
    return rest


def _run_nested(args, art, ember, runs, qemu, bench, vm_qemu, log):
    """One L1 boot for every run; returns the transcript and how L1 ended."""
    global_timeout = args.global_timeout or default_global_timeout(
        [r for r in runs if r.scenario], args.bench_iterations if bench else 0)

    def on_line(text, finished, _parser):
        if args.verbose:
            print(f"L1| {text}", flush=True)
        elif text.startswith(("E2E-L1 ", "E2E-L1-ERROR", "E2E-RETRY")):
            print(f"e2e: {text}", flush=True)
        if finished is not None:
            _print_progress(finished)

    print(f"e2e: booting L1 (QEMU TCG, global timeout {global_timeout:.0f} s)", flush=True)
    transcript, l1_end, l1_seconds = nested.run(
        art, ember, runs, qemu, global_timeout, log, on_line,
        bench_qemu=Path(qemu) if vm_qemu else None)
    print(f"e2e: {l1_end}, L1 ran {l1_seconds:.1f} s", flush=True)
    losses: Dict[str, int] = {}
    latest, latest_runs = transcript, list(runs)
    for restart in range(1, L1_RESTARTS + 1):
        if transcript.done:
            break
        # L1 itself stopped (or was killed): again, in a fresh L1, for the runs that did not
        # finish. Reported in the results as an L1 restart.
        lost = lost_run(latest, latest_runs)
        if lost is not None:
            losses[lost] = losses.get(lost, 0) + 1
        rest = restart_runs(runs, transcript, lost, losses)
        if not rest:
            break
        print(f"e2e: {l1_end}; restart {restart} of L1 for {len(rest)} unfinished run(s)"
              + (f" ({lost} last: L1 stopped during it)" if lost in {r.run_id for r in rest}
                 else ""), flush=True)
        log.write(f"# L1 restart {restart}: {l1_end}\n")
        again, again_end, again_seconds = nested.run(
            art, ember, rest, qemu, global_timeout, log, on_line,
            bench_qemu=Path(qemu) if vm_qemu else None)
        print(f"e2e: {again_end}, L1 ran {again_seconds:.1f} s", flush=True)
        for rid in [r.run_id for r in rest]:
            if rid in again.attempts:
                transcript.attempts[rid] = again.attempts[rid]
                transcript.retries[rid] = f"L1 restarted ({restart})"
        transcript.l1_progress += again.l1_progress
        transcript.l1_errors += again.l1_errors
        transcript.done = again.done
        l1_end = f"{l1_end}; restart {restart}: {again_end}"
        latest, latest_runs = again, rest
    given_up = sorted(rid for rid, n in losses.items() if n >= L1_LOSSES_PER_RUN)
    if given_up:
        l1_end += (f"; L1 stopped {L1_LOSSES_PER_RUN} times during {', '.join(given_up)}: "
                   "not tried again")
    if transcript.l1_errors:
        l1_end += "; L1: " + "; ".join(transcript.l1_errors)
    return transcript, l1_end


def _report(results, bench: bool, harness_status: bool) -> int:
    """The `E2E <name> PASS|FAIL <detail>` lines, the benchmark, the totals; the exit status."""
    verdicts = results["scenarios"]
    for name, verdict in verdicts.items():
        print(f"E2E {name} {verdict['result']} {verdict['detail']}")
    if bench:
        for line in judge.bench_lines(results["bench"]):
            print(line)
    failed = sum(v["result"] != "PASS" for v in verdicts.values())
    print(f"{len(verdicts) - failed} passed, {failed} failed")
    if harness_status:
        return 0
    bench_ok = not bench or all(results["bench"]["median"][vmm]["init_reached_s"]
                                for vmm in ("ember", "qemu"))
    return 0 if failed == 0 and bench_ok else 1


def cmd_check(args) -> int:
    path = Path(args.results)
    if not path.is_file():
        print(f"E2E {args.name} FAIL no results file {path}: the e2e.run test (e2e.py run) "
              "did not run or could not start")
        return 1
    results = json.loads(path.read_text())
    verdict = results.get("scenarios", {}).get(args.name)
    if verdict is None:
        print(f"E2E {args.name} FAIL not in {path} (run without it, e.g. with --only)")
        return 1
    print(f"E2E {args.name} {verdict['result']} {verdict['detail']}  [mode {results['mode']}]")
    if verdict["result"] != "PASS":
        for key, label in (("console_tail", "L2 console"), ("stderr_tail", "ember stderr")):
            tail = verdict.get(key) or []
            if tail:
                print(f"--- last {len(tail)} lines of the {label}:")
                for line in tail:
                    print(f"    {line}")
        print(f"--- full transcript: {results.get('log')}")
    return 0 if verdict["result"] == "PASS" else 1


def cmd_shell(args) -> int:
    mode, reason = detect_mode(args.mode)
    art = artifacts_mod.load(Path(args.artifacts).resolve(), need_l1=(mode == "nested"))
    ember = _existing(Path(args.ember), "ember binary")
    run = plan.shell_run(args.kernel, args.vcpus, args.mem)
    print(f"e2e shell: mode {mode}: {reason}")
    print(f"e2e shell: Debian's kernel ({args.kernel}) on ember, {args.vcpus} vCPU(s), "
          f"{args.mem} MiB, with a busybox shell in the guest; 'poweroff -f' in the guest ends it.")
    if mode == "nested":
        print("e2e shell: L1 boots first (about 5-10 s), then the guest (10-20 s, emulated); "
              "Ctrl-A x quits QEMU at any time.", flush=True)
        return nested.interactive(art, ember, run, _qemu(args.qemu))
    sys.stdout.flush()
    return direct.interactive(art, ember, run)


def _interrupt(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="print the scenario names")

    def common(sp):
        sp.add_argument("--artifacts", default=str(DEFAULT_ARTIFACTS),
                        help="scripts/build-guest-artifacts.sh's OUT_DIR (default %(default)s)")
        sp.add_argument("--ember", default=str(DEFAULT_EMBER),
                        help="ember binary; static for nested mode (default %(default)s)")
        sp.add_argument("--mode", choices=("auto", "direct", "nested"), default="auto")
        sp.add_argument("--qemu", default="qemu-system-x86_64",
                        help="QEMU for L1 and the benchmark (default %(default)s)")

    r = sub.add_parser("run", help="run the scenarios and write the results")
    common(r)
    r.add_argument("--results", default=str(DEFAULT_RESULTS), help="results JSON")
    r.add_argument("--log", help="full transcript (default: the results path with .log)")
    r.add_argument("--only", action="append", metavar="NAME", help="run only NAME (repeatable)")
    r.add_argument("--timeout", type=int, default=DEFAULT_TIMEOUT,
                   help="seconds per attempt; a timed-out scenario is retried once "
                        "(default %(default)s)")
    r.add_argument("--global-timeout", type=float,
                   help=f"nested: seconds for the whole L1 run (default {GLOBAL_TIMEOUT} or half the "
                        f"scenarios' time limits plus 120 if more, plus "
                        f"{GLOBAL_PER_BENCH_ITERATION} per benchmark iteration)")
    r.add_argument("--bench", action="store_true",
                   help="also time ember and QEMU microvm booting the guest to its /init")
    r.add_argument("--bench-only", action="store_true", help="the benchmark, no scenarios")
    r.add_argument("--bench-iterations", type=int, default=3)
    r.add_argument("--harness-status", action="store_true",
                   help="exit non-zero only when no results could be written (ctest's "
                        "fixture; the per-scenario tests judge)")
    r.add_argument("-v", "--verbose", action="store_true", help="echo L1's whole console")

    c = sub.add_parser("check", help="exit 0 iff scenario NAME passed")
    c.add_argument("name")
    c.add_argument("--results", default=str(DEFAULT_RESULTS))

    s = sub.add_parser("shell", help="interactive guest shell on ember (the demo)")
    common(s)
    s.add_argument("--kernel", choices=("vmlinuz", "vmlinux"), default="vmlinuz")
    s.add_argument("--vcpus", type=int, default=2)
    s.add_argument("--mem", type=int, default=256, help="guest memory, MiB")
    return p


def main(argv=None) -> int:
    p = build_parser()
    args = p.parse_args(argv)
    # SIGTERM/SIGHUP unwind like Ctrl-C, so QEMU is killed and temporary files removed.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    if args.command == "run" and args.bench_iterations < 1:
        p.error("--bench-iterations must be at least 1")
    handlers = {"list": cmd_list, "run": cmd_run, "check": cmd_check, "shell": cmd_shell}
    try:
        return handlers[args.command](args)
    except (UsageError, artifacts_mod.ArtifactError, l1.L1BuildError) as e:
        print(f"e2e: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("e2e: interrupted; QEMU/ember stopped and temporary files removed",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
