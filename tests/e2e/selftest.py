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


def run_in_busybox(script: str, env=None, tmp=None) -> str:
    """Runs SHELL_FUNCTIONS + script under busybox sh with busybox applets first on PATH, in a
    private /tmp-like folder (the functions use /tmp/e2e.*). The network interfaces the script
    functions look at are a fake folder (`TMP/net`) and deleting one only prints
    `net-deleted NAME`: the host's are never touched."""
    with tempfile.TemporaryDirectory(prefix="e2e-selftest-") as own:
        tmp = tmp or own
        bindir = Path(tmp) / "bin"
        bindir.mkdir(exist_ok=True)
        (Path(tmp) / "net").mkdir(exist_ok=True)
        for applet in ("ts", "timeout", "mkfifo", "awk", "cat", "rm", "sleep", "echo", "setsid",
                       "ls", "tr", "mkdir", "touch", "kill"):
            if not (bindir / applet).exists():
                os.symlink(BUSYBOX, bindir / applet)
        body = (SHELL_FUNCTIONS.replace("/tmp/", f"{tmp}/")
                .replace("/sys/class/net", f"{tmp}/net")
                .replace('ip link delete "$_net"', 'echo "net-deleted $_net"') + script)
        proc = subprocess.run([BUSYBOX, "sh", "-c", body], capture_output=True, text=True,
                              timeout=60, env={"PATH": f"{bindir}:/usr/bin:/bin", **(env or {})})
        return proc.stdout


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for its reaper counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


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


class ScriptRunnerTest(unittest.TestCase):
    """run_script: the L1 side of the scripted scenarios."""

    @classmethod
    def setUpClass(cls):
        ShellProtocolTest.setUpClass()

    def _run(self, script_body: str, limit: int = 20, retries: int = 1):
        with tempfile.TemporaryDirectory(prefix="e2e-selftest-script-") as tmp:
            script = Path(tmp) / "scenario.sh"
            script.write_text(script_body)
            scratch = Path(tmp) / "scratch" / "s"
            out = run_in_busybox(
                f"export SCRATCH={scratch} E2E_NAME=s\n"
                f"run_script s {retries} {limit} {script}\necho E2E-L1-DONE\n", tmp=tmp)
            return parse(out, {"s": limit}).transcript, out, scratch, Path(tmp)

    def test_console_status_scratch_and_cleanup(self):
        t, out, scratch, tmp = self._run(
            'echo "scratch $(ls -A "$SCRATCH" | wc -l) cwd $(pwd) name $E2E_NAME"\n'
            'echo note >&2\n'
            'touch "$SCRATCH/file"\n'
            'mkdir "$SCRATCH/../../net/tap9"\n'
            'sleep 300 &\n'
            'echo "leftover $!"\n'
            'exit 4\n')
        [attempt] = t.attempts["s"]
        self.assertEqual(attempt.status, 4)
        self.assertFalse(attempt.timed_out)
        lines = [line for _, line in attempt.console]
        self.assertEqual(lines[0], f"scratch 0 cwd {scratch} name s")
        self.assertEqual([line for _, line in attempt.stderr], ["note"])
        self.assertIn("net-deleted tap9", out)        # an interface it created is removed
        self.assertFalse(scratch.exists())             # and its scratch folder
        self.assertLess(attempt.seconds, 10)           # the leftover held no pipe open...
        leftover = int(lines[1].split()[1])
        self.assertFalse(alive(leftover))              # ...and is gone
        self.assertTrue(t.done)

    def test_timeout_kills_the_whole_script_and_retries(self):
        t, _, scratch, _ = self._run('sleep 200 &\necho "leftover $!"\nsleep 100\n', limit=2)
        self.assertEqual([a.status for a in t.attempts["s"]], [137, 137])
        self.assertTrue(all(a.timed_out for a in t.attempts["s"]))
        self.assertEqual(t.retries, {"s": "timeout"})
        for a in t.attempts["s"]:
            self.assertFalse(alive(int(a.console[0][1].split()[1])))
        self.assertFalse(scratch.exists())


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


    def test_live_lines_belong_to_the_open_run(self):
        text = "\n".join([
            "E2E-BEGIN net attempt=1 t=100.0",
            "E2E-LIVE net net ping host-to-guest ok",
            "E2E-LIVE other not running: ignored",
            "E2E-L1-TICK",
        ])
        t = parse(text, {}).transcript
        [attempt] = t.attempts["net"]
        self.assertEqual(attempt.live, ["net ping host-to-guest ok"])
        self.assertEqual(attempt.last_live(), "net ping host-to-guest ok")
        self.assertNotIn("other", t.attempts)
        verdict = judge.judge_scenario(by_name()["net"], [attempt], False, "L1 killed")
        self.assertEqual(verdict["result"], "FAIL")
        self.assertEqual(verdict["detail"], "did not finish (its last progress line: "
                         "'net ping host-to-guest ok'): L1 killed")


class RestartTest(unittest.TestCase):
    """Which runs a fresh L1 takes on after L1 stopped (e2e.restart_runs)."""

    @staticmethod
    def runs(*names):
        return [plan.VmRun(n, "ember", "vmlinuz", 1, 64, "console=ttyS0", 30, 0, n)
                for n in names]

    @staticmethod
    def transcript(ended, open_run=None):
        from protocol import Transcript
        t = Transcript()
        for name in ended:
            t.attempts[name] = [attempt_with([], 0)]
        if open_run:
            t.attempts[open_run] = [attempt_with([], None, None)]
        return t

    def test_the_run_l1_stopped_in_goes_last_then_is_given_up(self):
        import e2e
        runs = self.runs("a", "b", "c", "d")
        t = self.transcript(["a"], open_run="b")
        lost = e2e.lost_run(t, runs)
        self.assertEqual(lost, "b")
        losses = {"b": 1}
        self.assertEqual([r.run_id for r in e2e.restart_runs(runs, t, lost, losses)],
                         ["c", "d", "b"])
        losses["b"] = e2e.L1_LOSSES_PER_RUN
        self.assertEqual([r.run_id for r in e2e.restart_runs(runs, t, lost, losses)], ["c", "d"])

    def test_l1_lost_outside_any_run(self):
        import e2e
        runs = self.runs("a", "b")
        t = self.transcript(["a"])
        self.assertIsNone(e2e.lost_run(t, runs))
        self.assertEqual([r.run_id for r in e2e.restart_runs(runs, t, None, {})], ["b"])

    def test_l1_say_writes_the_live_line(self):
        lib = Path(__file__).resolve().parent / "l1_scripts" / "lib.sh"
        with tempfile.TemporaryDirectory(prefix="e2e-selftest-live-") as tmp:
            live = Path(tmp) / "console"
            for target, expect_file in ((live, True), (Path(tmp) / "no" / "such", False)):
                out = subprocess.run(
                    [BUSYBOX, "sh", "-c", f'. "{lib}"; l1_say net eth0 up'],
                    env={"PATH": "/bin:/usr/bin", "E2E_LIVE": str(target), "E2E_NAME": "net"},
                    capture_output=True, text=True, timeout=30)
                self.assertEqual(out.stdout, "E2E-L1S net eth0 up\n")
                self.assertEqual(out.stderr, "")
                if expect_file:
                    self.assertEqual(live.read_text(), "E2E-LIVE net net eth0 up\n")

    def test_live_progress_only_in_nested_mode(self):
        run = by_name()["net"]
        [vm_run] = plan.scenario_runs([run], 30)
        paths = l1.l1_script_paths()
        self.assertEqual(plan.script_env(vm_run, paths, "/s", "nested", {})["E2E_LIVE"],
                         "/dev/console")
        self.assertNotIn("E2E_LIVE", plan.script_env(vm_run, paths, "/s", "direct", {}))


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
        script = l1.init_script([Path("/x/kvm.ko"), Path("/x/kvm-amd.ko")], runs, None,
                                {"CURL": "/usr/bin/curl"})
        self.assertIn("insmod /e2e/modules/kvm-amd.ko npt=1 nested=1 vgif=0", script)
        for run in runs:
            runner = "run_script" if run.l1_script else "run_vm"
            self.assertIn(f"{runner} {run.run_id} {run.retries} {run.timeout_s} ", script)
        self.assertTrue(script.rstrip().endswith("sleep 30"))
        self.assertIn("echo E2E-L1-DONE", script)

    def test_scripted_scenarios(self):
        scripted = [s for s in SCENARIOS if s.l1_script]
        self.assertTrue(scripted)
        for s in scripted:
            self.assertTrue((l1.HOST_SCRIPTS / f"{s.l1_script}.sh").is_file(), s.l1_script)
            self.assertFalse(s.rootfs or s.vsock, f"{s.name}: the script attaches devices")
            for name in s.l1_tools:
                l1.tool(name)  # known
        [run] = plan.scenario_runs(scripted[:1], 90)
        self.assertEqual(run.vmm, "script")
        script = l1.init_script([], [run], None, {"CURL": "/usr/bin/curl", "IP": "/usr/sbin/ip"})
        self.assertIn(f"export SCRATCH={l1.L1_SCRATCH}/{run.run_id}", script)
        self.assertIn("export CURL=/usr/bin/curl", script)
        self.assertIn(f"export EMBER={l1.L1_EMBER}", script)
        self.assertIn(f"export BOOT_ARGS='{run.boot_args}'", script)
        self.assertIn(f"run_script {run.run_id} 1 {run.timeout_s} {l1.L1_SCRIPTS}/{run.l1_script}.sh", script)
        env = plan.script_env(run, l1.l1_script_paths(), "/s", "nested", {})
        for name in ("EMBER", "L2_VMLINUZ", "L2_VMLINUX", "L2_INITRAMFS", "L2_ROOTFS",
                     "VSOCK_ECHO", "BOOT_ARGS", "SCRATCH", "E2E_NAME"):
            self.assertTrue(env.get(name), name)


class DirectScriptTest(unittest.TestCase):
    """A scripted scenario in direct mode: the same environment, cleanup and judging, on the
    host (no ember needed: the script only reports what it sees)."""

    def test_direct_script_run(self):
        import direct
        from artifacts import Artifacts
        import io
        with tempfile.TemporaryDirectory(prefix="e2e-selftest-direct-") as tmp:
            tmp = Path(tmp)
            files = {}
            for name in ("vmlinuz", "vmlinux", "initramfs", "rootfs", "tools/vsock-echo"):
                files[name] = tmp / name
                files[name].parent.mkdir(parents=True, exist_ok=True)
                files[name].write_text("x")
            art = Artifacts(tmp, files["vmlinuz"], files["vmlinux"], files["initramfs"], [],
                            files["rootfs"], files["tools/vsock-echo"])
            scripts = tmp / "l1_scripts"
            scripts.mkdir()
            (scripts / "probe.sh").write_text(
                'echo "env $E2E_NAME $E2E_MODE $(basename "$L2_VMLINUX") '
                '$(ls -A "$SCRATCH" | wc -l) $(pwd)"\n'
                '[ -x "$CURL" ] && echo "curl ok"\n'
                'sleep 300 &\necho "leftover $!"\nexit 5\n')
            saved = l1.HOST_SCRIPTS
            l1.HOST_SCRIPTS = scripts
            try:
                run = plan.VmRun("probe", "script", "vmlinuz", 1, 64, "console=ttyS0", 30, 0,
                                 "probe", l1_script="probe")
                t = direct.run(art, tmp / "ember", [run], None, io.StringIO(), lambda a: None)
            finally:
                l1.HOST_SCRIPTS = saved
            [attempt] = t.attempts["probe"]
            lines = [line for _, line in attempt.console]
            self.assertEqual(attempt.status, 5)
            self.assertRegex(lines[0], r"^env probe direct vmlinux 0 .*/scratch/probe$")
            self.assertEqual(lines[1], "curl ok")
            self.assertLess(attempt.seconds, 10)
            self.assertFalse(alive(int(lines[2].split()[1])))


class DeviceBenchParseTest(unittest.TestCase):
    """benchmarks/device_bench.py's reading of the console (no VM)."""

    def test_parse_and_ratio(self):
        sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
        import device_bench
        lines = [
            "E2E-L1S bench begin ember 1",
            "E2E-L2 bench seqread seqread bytes 1 seconds 1 mib_per_s 80.00",
            "E2E-L2 bench randread randread ops 9 seconds 1 iops 300.0",
            "E2E-L2 bench net-h2g failed: e2e-bench: connect",
            "E2E-L1S bench ember 1 net-g2h recv bytes 1 seconds 1 mib_per_s 2.00",
            "E2E-L1S bench end ember 1 status 0",
            "E2E-L1S bench qemu vsock unavailable: no /dev/vhost-vsock",
            "E2E-L1S bench begin qemu 1",
            "E2E-L2 bench seqread seqread bytes 1 seconds 1 mib_per_s 40.00",
            "E2E-L1S bench ember 1 net-g2h recv bytes 1 seconds 1 mib_per_s 9.00",  # not this run
            "E2E-L1S bench end qemu 1 status 3",
        ]
        samples, failures, notes = device_bench.parse_console(lines)
        self.assertEqual(samples["ember"]["seqread"], [80.0])
        self.assertEqual(samples["ember"]["randread"], [300.0])
        self.assertEqual(samples["ember"]["net_g2h"], [2.0])
        self.assertEqual(samples["qemu"]["seqread"], [40.0])
        self.assertEqual(samples["qemu"]["net_g2h"], [])
        self.assertEqual(len(failures), 2)  # ember's net-h2g, qemu's exit status
        self.assertEqual(notes, ["qemu vsock unavailable: no /dev/vhost-vsock"])
        summary = device_bench.summarize(samples)
        self.assertEqual(summary["ratio"]["seqread"], 2.0)
        self.assertIsNone(summary["ratio"]["randread"])
        self.assertIn("| block sequential read", device_bench.table(summary, samples))
        bench = device_bench.scenario(2, 16, 3, ("ember", "qemu"))
        self.assertEqual(bench.l1_tools, ("qemu",))
        self.assertIn(("BENCH_ITERATIONS", "2"), bench.l1_env)
        self.assertTrue((l1.HOST_SCRIPTS / f"{bench.l1_script}.sh").is_file())


if __name__ == "__main__":
    unittest.main(verbosity=2)
