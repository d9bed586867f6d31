"""Judging: a scenario's attempts against its table entry, and the benchmark's figures."""

import statistics
from typing import Dict, List, Optional

from protocol import Attempt, Transcript
from scenarios import NONZERO, Scenario

TAIL_LINES = 40
INIT_REACHED = r"E2E-L2 init-reached"
KERNEL_BANNER = r"Linux version \d"   # the guest kernel's first console line


def _short(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _status_ok(scenario: Scenario, status: int) -> bool:
    return status != 0 if scenario.expect_exit == NONZERO else status == scenario.expect_exit


def _last_log_line(attempt: Attempt) -> str:
    for _, line in reversed(attempt.stderr):
        if line.strip():
            return _short(line.strip(), 160)
    return ""


def judge_scenario(scenario: Scenario, attempts: List[Attempt], retried: bool,
                   why_missing: str) -> Dict:
    """PASS/FAIL with a one-line detail, from the last attempt."""
    result = {"result": "FAIL", "detail": "", "seconds": None, "retried": retried,
              "attempts": len(attempts), "status": None}
    if not attempts:
        result["detail"] = f"no result: {why_missing}"
        return result
    last = attempts[-1]
    result["seconds"] = None if last.seconds is None else round(last.seconds, 3)
    result["status"] = last.status
    result["console_tail"] = [line for _, line in last.console[-TAIL_LINES:]]
    result["stderr_tail"] = [line for _, line in last.stderr[-TAIL_LINES:]]
    problems = []
    if last.status is None:
        progress = last.last_live()
        where = (f" (its last progress line: {_short(progress, 120)!r})" if progress is not None
                 else "")
        result["detail"] = f"did not finish{where}: {why_missing}"
        return result
    if last.timed_out:
        problems.append(f"timed out after {last.timeout_s:.0f} s"
                        + (f" ({len(attempts)} attempts)" if retried else ""))
    elif not _status_ok(scenario, last.status):
        problems.append(f"ember exit status {last.status}, expected {scenario.expect_exit}")
    matched = []
    for pattern in scenario.required:
        hit = last.first_console_match(pattern)
        if hit is None:
            problems.append(f"console lacks /{pattern}/")
        else:
            more = last.count_console_matches(pattern) - 1
            matched.append(repr(_short(hit[1].strip(), 60)) + (f" (+{more} more)" if more else ""))
    for pattern in scenario.forbidden:
        hit = last.first_console_match(pattern)
        if hit is not None:
            problems.append(f"console has forbidden /{pattern}/: {_short(hit[1].strip())!r}")
    timing = "" if last.seconds is None else f" in {last.seconds:.1f} s"
    if problems:
        if retried and not last.timed_out:
            problems.append("(retried: the first attempt timed out)")
        log_line = _last_log_line(last)
        if log_line:
            problems.append(f"last stderr line: {log_line!r}")
        result["detail"] = "; ".join(problems)
    else:
        result["result"] = "PASS"
        retry_note = " after a retry (the first attempt timed out)" if retried else ""
        result["detail"] = (f"exit {last.status}{timing}{retry_note}; "
                            + "; ".join(matched))
    return result


def _since_start(attempt: Attempt, pattern: str) -> Optional[float]:
    hit = attempt.first_console_match(pattern)
    return None if hit is None else hit[0] - attempt.start


def bench_summary(transcript: Transcript, iterations: int) -> Dict:
    """Medians of `VMM start -> the kernel's banner line` and `-> E2E-L2 init-reached`."""
    metrics = {"kernel_banner_s": KERNEL_BANNER, "init_reached_s": INIT_REACHED}
    summary: Dict = {"iterations": iterations, "samples": {}, "median": {}, "ratio": {}}
    for vmm in ("ember", "qemu"):
        samples = {name: [] for name in metrics}
        failures = []
        for i in range(1, iterations + 1):
            attempts = transcript.attempts.get(f"bench.{vmm}.{i}", [])
            if not attempts:
                failures.append(f"{i}: not run")
                continue
            for name, pattern in metrics.items():
                value = _since_start(attempts[-1], pattern)
                if value is not None:
                    samples[name].append(round(value, 4))
                elif name == "init_reached_s":
                    failures.append(f"{i}: no init-reached (status {attempts[-1].status})")
        summary["samples"][vmm] = samples
        summary["median"][vmm] = {name: (round(statistics.median(v), 4) if v else None)
                                  for name, v in samples.items()}
        if failures:
            summary.setdefault("failures", {})[vmm] = failures
    for name in metrics:
        ember, qemu = summary["median"]["ember"][name], summary["median"]["qemu"][name]
        summary["ratio"][name] = round(ember / qemu, 3) if ember and qemu else None
    return summary


def bench_lines(summary: Dict) -> List[str]:
    lines = []
    labels = {"kernel_banner_s": "start -> 'Linux version' line",
              "init_reached_s": "start -> E2E-L2 init-reached"}
    for name, label in labels.items():
        e = summary["median"]["ember"][name]
        q = summary["median"]["qemu"][name]
        r = summary["ratio"][name]
        fmt = lambda v: "n/a" if v is None else f"{v:.3f} s"
        lines.append(f"BENCH {label}: ember median {fmt(e)}, QEMU microvm median {fmt(q)}, "
                     f"ember/QEMU {'n/a' if r is None else f'{r:.2f}'} "
                     f"({summary['iterations']} boots each)")
    for vmm, failures in summary.get("failures", {}).items():
        lines.append(f"BENCH {vmm} boots without a figure: {', '.join(failures)}")
    return lines
