#!/usr/bin/env python3
"""Self-test of the harness, without QEMU or /dev/kvm (seconds): the in-L1 shell functions run
with busybox on the host against fake VMMs, their console parsed back, and the judging.

    python3 tests/e2e/selftest.py        (ctest: e2e.selftest)
"""

from pathlib import Path
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import judge  # noqa: E402
import l1  # noqa: E402
import plan  # noqa: E402
from protocol import SHELL_FUNCTIONS, Attempt, Parser  # noqa: E402
from scenarios import NONZERO, SCENARIOS, by_name  # noqa: E402

BUSYBOX = "/bin/busybox"


def run_in_busybox(script: str) -> str:
    """Runs SHELL_FUNCTIONS + script under busybox sh with busybox applets first on PATH, in a
    private /tmp-like folder (the functions use /tmp/e2e.*)."""
    with tempfile.TemporaryDirectory(prefix="e2e-selftest-") as tmp:
        bindir = Path(tmp) / "bin"
        bindir.mkdir()
        for applet in ("ts", "timeout", "mkfifo", "awk", "cat", "rm", "sleep", "echo"):
            os.symlink(BUSYBOX, bindir / applet)
        body = SHELL_FUNCTIONS.replace("/tmp/", f"{tmp}/") + script
        proc = subprocess.run([BUSYBOX, "sh", "-c", body], capture_output=True, text=True,
                              timeout=60, env={"PATH": f"{bindir}:/usr/bin:/bin"})
        return proc.stdout


def parse(text: str, timeouts) -> Parser:
    parser = Parser(timeouts)
    for line in text.splitlines():
        parser.feed(line)
    return parser


class ShellProtocolTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(BUSYBOX, os.X_OK):
            raise AssertionError(f"{BUSYBOX} is missing (package busybox-static): L1 needs it too")

    def test_run_records_console_stderr_and_status(self):
        out = run_in_busybox(
            "run_vm fake 1 20 sh -c 'echo line one; echo oops >&2; echo \"E2E-L2 init-reached\";"
            " exit 3'\necho E2E-L1-DONE\n")
        t = parse(out, {"fake": 20}).transcript
        self.assertTrue(t.done)
        [attempt] = t.attempts["fake"]
        self.assertEqual(attempt.status, 3)
        self.assertFalse(attempt.timed_out)
        self.assertEqual([line for _, line in attempt.console], ["line one", "E2E-L2 init-reached"])
        self.assertEqual([line for _, line in attempt.stderr], ["oops"])
        stamp, _ = attempt.first_console_match("init-reached")
        self.assertGreaterEqual(stamp, attempt.start)
        self.assertLess(stamp - attempt.start, 10)

    def test_timeout_is_retried_once(self):
        out = run_in_busybox("run_vm slow 1 1 sleep 5\necho E2E-L1-DONE\n")
        t = parse(out, {"slow": 1}).transcript
        self.assertEqual([a.status for a in t.attempts["slow"]], [137, 137])
        self.assertTrue(all(a.timed_out for a in t.attempts["slow"]))
        self.assertEqual(t.retries, {"slow": "timeout"})

    def test_no_retry_without_timeout(self):
        out = run_in_busybox("run_vm quick 1 20 true\n")
        self.assertEqual([a.status for a in parse(out, {}).transcript.attempts["quick"]], [0])


class ParserTest(unittest.TestCase):
    def test_noise_and_unfinished_runs(self):
        text = "\n".join([
            "SeaBIOS noise",
            "E2E-L1 kvm-ready uptime=4.0",
            "[   12.0] kernel noise E2E-BEGIN a attempt=1 t=100.0",
            "E2E-OUT a 101.5 hello\r",
            "E2E-OUT b 101.6 belongs to no open run",
            "E2E-END a attempt=1 status=0 seconds=2.000 t=102.0",
            "E2E-BEGIN b attempt=1 t=103.0",
            "E2E-L1-ERROR something broke",
        ])
        t = parse(text, {}).transcript
        self.assertEqual(t.l1_progress, ["kvm-ready uptime=4.0"])
        self.assertEqual(t.l1_errors, ["something broke"])
        self.assertFalse(t.done)
        self.assertEqual(t.attempts["a"][0].console, [(101.5, "hello")])
        self.assertIsNone(t.attempts["b"][0].status)


def attempt_with(console, status=0, seconds=10.0, timed_out=False):
    a = Attempt("x", 1, 0.0, timeout_s=100)
    a.console = [(1.0 + i, line) for i, line in enumerate(console)]
    a.status, a.seconds, a.timed_out = status, seconds, timed_out
    return a


class JudgeTest(unittest.TestCase):
    def test_pass_and_fail(self):
        boot = by_name()["boot_bzimage"]
        ok = judge.judge_scenario(
            boot, [attempt_with(["E2E-L2 init-reached", "E2E-L2 uname 6.1.0"])], False, "")
        self.assertEqual(ok["result"], "PASS", ok["detail"])
        bad = judge.judge_scenario(boot, [attempt_with(["E2E-L2 init-reached"], status=2)],
                                   False, "")
        self.assertEqual(bad["result"], "FAIL")
        self.assertIn("exit status 2", bad["detail"])
        self.assertIn("uname", bad["detail"])

    def test_nonzero_expectation_and_forbidden(self):
        panic = by_name()["panic"]
        self.assertEqual(panic.expect_exit, NONZERO)
        lines = ["E2E-L2 init-reached", "E2E-L2 panicking", "Kernel panic - not syncing: x"]
        self.assertEqual(judge.judge_scenario(panic, [attempt_with(lines, 3)], False, "")
                         ["result"], "PASS")
        self.assertEqual(judge.judge_scenario(panic, [attempt_with(lines, 0)], False, "")
                         ["result"], "FAIL")
        poweroff = by_name()["poweroff"]
        verdict = judge.judge_scenario(
            poweroff, [attempt_with(["E2E-L2 init-reached", "Kernel panic - not syncing"])],
            False, "")
        self.assertIn("forbidden", verdict["detail"])

    def test_timeout_missing_and_retry(self):
        boot = by_name()["boot_elf"]
        timed = judge.judge_scenario(
            boot, [attempt_with([], 137, 100, True), attempt_with([], 137, 100, True)], True, "")
        self.assertIn("timed out", timed["detail"])
        self.assertTrue(timed["retried"])
        missing = judge.judge_scenario(boot, [], False, "L1 killed")
        self.assertEqual(missing["detail"], "no result: L1 killed")

    def test_bench_summary(self):
        from protocol import Transcript
        t = Transcript()
        for vmm, base in (("ember", 1.0), ("qemu", 2.0)):
            a = attempt_with(["Linux version 6.1", "E2E-L2 init-reached"])
            a.console = [(base, "Linux version 6.1"), (base * 4, "E2E-L2 init-reached")]
            t.attempts[f"bench.{vmm}.1"] = [a]
        s = judge.bench_summary(t, 1)
        self.assertEqual(s["median"]["ember"]["init_reached_s"], 4.0)
        self.assertEqual(s["ratio"]["init_reached_s"], 0.5)


class TableAndInitTest(unittest.TestCase):
    def test_table(self):
        names = [s.name for s in SCENARIOS]
        self.assertEqual(len(names), len(set(names)))
        for s in SCENARIOS:
            self.assertRegex(s.name, r"^[a-z0-9_]+$")
            self.assertIn(s.kernel, ("vmlinuz", "vmlinux"))
            self.assertIn(f"ember.e2e={s.l2_scenario}", s.boot_args())
            self.assertIn("lpj=", s.boot_args())

    def test_init_script_runs_every_scenario(self):
        runs = plan.scenario_runs(SCENARIOS, 77) + plan.bench_runs(2, 77)
        script = l1.init_script([Path("/x/kvm.ko"), Path("/x/kvm-amd.ko")], runs, None)
        self.assertIn("insmod /e2e/modules/kvm-amd.ko npt=1 nested=1", script)
        for run in runs:
            self.assertIn(f"run_vm {run.run_id} {run.retries} 77 ", script)
        self.assertTrue(script.rstrip().endswith("sleep 30"))
        self.assertIn("echo E2E-L1-DONE", script)


if __name__ == "__main__":
    unittest.main(verbosity=2)
