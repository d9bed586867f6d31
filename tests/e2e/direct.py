"""Direct mode: the host has hardware KVM, so each run starts the VMM right here.

Produces the same Transcript as nested mode (protocol.py), with host-side line stamps.
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
from typing import Callable, Dict, Optional, Sequence, TextIO

from artifacts import Artifacts
from children import die_with_parent, interactive_child
import plan
from protocol import TIMEOUT_STATUS, Attempt, Transcript, clean


def _argv(run: plan.VmRun, artifacts: Artifacts, ember: Path, qemu: Optional[str],
          work: Path) -> list:
    kernel, initrd = str(artifacts.kernel(run.kernel)), str(artifacts.l2_initramfs)
    if run.vmm == "qemu":
        return plan.qemu_argv(qemu, run, kernel, initrd)
    config = work / f"{run.run_id}.json"
    rootfs = work / f"{run.run_id}.ext4"
    if run.rootfs:
        shutil.copyfile(artifacts.rootfs, rootfs)
    config.write_text(plan.ember_config(run, kernel, initrd, str(rootfs), str(work / f"{run.run_id}.vsock")))
    return plan.ember_argv(str(ember), str(config))


def _attempt(argv: list, run: plan.VmRun, number: int, log: TextIO) -> Attempt:
    """One VMM process: stdout and stderr read line by line and stamped on arrival."""
    log.write(f"# {run.run_id} attempt {number}: {shlex.join(argv)}\n")
    attempt = Attempt(run.run_id, number, time.time(), timeout_s=run.timeout_s)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=die_with_parent)
    try:
        deadline = time.monotonic() + run.timeout_s
        streams: Dict[int, tuple] = {proc.stdout.fileno(): (attempt.console, "OUT"),
                                     proc.stderr.fileno(): (attempt.stderr, "ERR")}
        pending = {fd: b"" for fd in streams}
        with selectors.DefaultSelector() as sel:
            for fd in streams:
                os.set_blocking(fd, False)
                sel.register(fd, selectors.EVENT_READ)
            while sel.get_map():
                left = deadline - time.monotonic()
                if left <= 0:
                    attempt.timed_out = True
                    break
                for key, _ in sel.select(timeout=min(left, 1.0)):
                    chunk = os.read(key.fd, 65536)
                    target, tag = streams[key.fd]
                    if not chunk:
                        sel.unregister(key.fd)
                        chunk, pending[key.fd] = pending[key.fd], b""
                        lines = [chunk] if chunk else []
                    else:
                        *lines, pending[key.fd] = (pending[key.fd] + chunk).split(b"\n")
                    now = time.time()
                    for raw in lines:
                        text = clean(raw.decode("utf-8", errors="replace"))
                        target.append((now, text))
                        log.write(f"{now:.3f} E2E-{tag} {run.run_id} {text}\n")
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        status = proc.wait()
    attempt.status = TIMEOUT_STATUS if attempt.timed_out else (
        status if status >= 0 else 128 - status)
    attempt.seconds = time.time() - attempt.start
    log.write(f"# {run.run_id} attempt {number}: status {attempt.status} "
              f"after {attempt.seconds:.3f} s\n")
    log.flush()
    return attempt


def run(artifacts: Artifacts, ember: Path, runs: Sequence[plan.VmRun], qemu: Optional[str],
        log: TextIO, on_attempt: Callable[[Attempt], None]) -> Transcript:
    transcript = Transcript()
    work = Path(tempfile.mkdtemp(prefix="ember-e2e-direct-"))
    try:
        for run_ in runs:
            argv = _argv(run_, artifacts, ember, qemu, work)
            attempts = transcript.attempts.setdefault(run_.run_id, [])
            for number in range(1, run_.retries + 2):
                helpers = []
                if run_.vsock:
                    uds = str(work / f"{run_.run_id}.vsock")
                    helpers = [subprocess.Popen(h, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                preexec_fn=die_with_parent)
                               for h in plan.vsock_host_commands(str(artifacts.vsock_echo), uds)]
                try:
                    attempts.append(_attempt(argv, run_, number, log))
                finally:
                    for h in helpers:
                        h.kill()
                        h.wait()
                on_attempt(attempts[-1])
                if not attempts[-1].timed_out:
                    break
                if number <= run_.retries:
                    transcript.retries[run_.run_id] = "timeout"
        transcript.done = True
        return transcript
    finally:
        shutil.rmtree(work, ignore_errors=True)


def interactive(artifacts: Artifacts, ember: Path, run_: plan.VmRun) -> int:
    """The demo: ember on the user's terminal (it puts the terminal in raw mode itself)."""
    work = Path(tempfile.mkdtemp(prefix="ember-e2e-shell-"))
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        argv = _argv(run_, artifacts, ember, None, work)
        return subprocess.run(argv, preexec_fn=interactive_child).returncode
    finally:
        signal.signal(signal.SIGINT, previous)
        shutil.rmtree(work, ignore_errors=True)
