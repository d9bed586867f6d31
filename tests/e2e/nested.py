"""Nested mode: ONE L1 boot (QEMU, TCG, emulated AMD CPU with SVM+NPT) runs every VMM run.

The host side starts QEMU, reads L1's serial console line by line with a global deadline, feeds
each line to protocol.Parser and to the transcript log, and always kills QEMU and removes its
temporary files, also on an exception or Ctrl-C.
"""

import os
from pathlib import Path
import selectors
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Callable, Optional, Sequence, TextIO, Tuple

from artifacts import Artifacts
from children import die_with_parent, interactive_child
import l1
import plan
from protocol import Attempt, Parser, Transcript

L1_MEM_MIB = 2048
# idle=poll: L1 never halts its (emulated) CPU. An L1 waiting in HLT for a timer interrupt was
# seen to wedge for good under TCG now and then; polling never waits for that wakeup.
L1_APPEND = "console=ttyS0 quiet loglevel=3 panic=-1 idle=poll"


def l1_qemu_argv(qemu: str, kernel: Path, initrd: Path) -> list:
    return [qemu, "-accel", "tcg", "-cpu", "max", "-m", str(L1_MEM_MIB), "-smp", "1",
            "-nographic", "-no-reboot", "-nic", "none",
            "-kernel", str(kernel), "-initrd", str(initrd), "-append", L1_APPEND]


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait()


def silence_limit(runs: Sequence[plan.VmRun]) -> float:
    """How long L1 may print nothing. Once running, it prints a heartbeat every
    l1.HEARTBEAT_SECONDS; three missed beats mean L1 itself stopped making progress (an
    emulated interrupt lost in L1 was seen to wedge it). Six CI runs' transcripts never showed
    a gap over 10.5 s between L1's lines, and booting L1 to its first line takes about 10 s."""
    del runs
    return 10.0 + 3 * l1.HEARTBEAT_SECONDS


def run(artifacts: Artifacts, ember: Path, runs: Sequence[plan.VmRun], qemu: str,
        global_timeout: float, log: TextIO,
        on_line: Callable[[str, Optional[Attempt], Parser], None],
        bench_qemu: Optional[Path] = None) -> Tuple[Transcript, str, float]:
    """Boots L1 once for all `runs`. Returns the transcript, why L1 ended, and its seconds."""
    work = Path(tempfile.mkdtemp(prefix="ember-e2e-"))
    proc = None
    started = time.monotonic()
    try:
        initrd = l1.build(artifacts, ember, runs, work, qemu=bench_qemu)
        log.write(f"# L1 initramfs {initrd} ({initrd.stat().st_size} bytes)\n")
        argv = l1_qemu_argv(qemu, artifacts.vmlinuz, initrd)
        log.write("# " + shlex.join(argv) + "\n")
        parser = Parser({r.run_id: float(r.timeout_s) for r in runs})
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=die_with_parent)
        reason = _pump(proc, parser, started + global_timeout, silence_limit(runs), log, on_line)
        if reason is None:
            status = proc.wait()
            reason = (f"L1 finished (QEMU status {status})" if parser.transcript.done else
                      f"QEMU exited with status {status} before L1 reported E2E-L1-DONE")
        return parser.transcript, reason, time.monotonic() - started
    finally:
        if proc is not None:
            _kill(proc)
        shutil.rmtree(work, ignore_errors=True)


def _pump(proc, parser: Parser, deadline: float, silence: float, log: TextIO,
          on_line) -> Optional[str]:
    """Reads QEMU's output until EOF (returns None), the deadline or `silence` seconds without
    output (returns the reason)."""
    fd = proc.stdout.fileno()
    os.set_blocking(fd, False)
    pending = b""
    last_output = time.monotonic()
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if now >= deadline:
                return "L1 killed at the global timeout"
            if now - last_output >= silence:
                return f"L1 killed: no output for {silence:.0f} s"
            if not sel.select(timeout=min(deadline - now, 1.0)):
                continue
            last_output = time.monotonic()
            chunk = os.read(fd, 65536)
            if not chunk:
                if pending:
                    _line(pending, parser, log, on_line)
                return None
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for raw in lines:
                _line(raw, parser, log, on_line)


def _line(raw: bytes, parser: Parser, log: TextIO, on_line) -> None:
    text = raw.decode("utf-8", errors="replace").rstrip("\r")
    log.write(f"{time.time():.3f} {text}\n")
    log.flush()
    on_line(text, parser.feed(text), parser)


def interactive(artifacts: Artifacts, ember: Path, run: plan.VmRun, qemu: str) -> int:
    """The demo: L1's console on the user's terminal, ember in the foreground inside L1."""
    work = Path(tempfile.mkdtemp(prefix="ember-e2e-shell-"))
    proc = None
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # QEMU owns the terminal now
    try:
        initrd = l1.build(artifacts, ember, [], work, interactive=run)
        proc = subprocess.Popen(l1_qemu_argv(qemu, artifacts.vmlinuz, initrd),
                                preexec_fn=interactive_child)
        return proc.wait()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        signal.signal(signal.SIGINT, previous)
        shutil.rmtree(work, ignore_errors=True)
