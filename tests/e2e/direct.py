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
from typing import Callable, Dict, Optional, Sequence, TextIO, Tuple

from artifacts import Artifacts
from children import die_with_parent, interactive_child
import l1
import plan
from protocol import TIMEOUT_STATUS, Attempt, Transcript, clean


BUSYBOX = "/bin/busybox"


def _script_setup(runs: Sequence[plan.VmRun], artifacts: Artifacts, ember: Path,
                  qemu: Optional[str], work: Path) -> Dict[str, str]:
    """For scripted scenarios: a PATH like L1's (the tools, then busybox's applets) and the
    tools' variables. Returns the environment every script shares."""
    tools = l1.script_tools(runs, ember)
    tool_bin = work / "tools-bin"
    applet_bin = work / "busybox-bin"
    tool_bin.mkdir()
    applet_bin.mkdir()
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        os.symlink(BUSYBOX, applet_bin / applet)
    env = {}
    for name, (spec, host) in tools.items():
        if name == "qemu" and qemu:
            host = qemu
        if host is None:
            continue
        os.symlink(host, tool_bin / Path(spec.inside).name)
        env[spec.env] = host
    env["PATH"] = f"{tool_bin}:{applet_bin}"
    return env


def _script_command(run: plan.VmRun, artifacts: Artifacts, ember: Path, work: Path,
                    shared_env: Dict[str, str]) -> Tuple[list, Dict[str, str], Path]:
    """argv, environment and scratch folder of a scripted scenario. As root it runs in a network
    namespace of its own (its taps and addresses vanish with it, never on the host's network);
    otherwise in the host's (a script that needs a tap then fails: run as root)."""
    paths = plan.ScriptPaths(ember=str(ember), vmlinuz=str(artifacts.vmlinuz),
                             vmlinux=str(artifacts.vmlinux),
                             initramfs=str(artifacts.l2_initramfs), rootfs=str(artifacts.rootfs),
                             tools=str(artifacts.tools_dir), scripts=str(l1.HOST_SCRIPTS))
    scratch = work / "scratch" / run.run_id
    env = dict(shared_env)
    env.update(plan.script_env(run, paths, str(scratch), "direct",
                               {k: v for k, v in shared_env.items() if k != "PATH"}))
    script = plan.script_path(str(l1.HOST_SCRIPTS), run)
    argv = [BUSYBOX, "sh", script]
    if os.geteuid() == 0 and shutil.which("unshare"):
        argv = ["unshare", "--net", "--", BUSYBOX, "sh", "-c",
                'ip link set lo up 2>/dev/null; exec sh "$0"', script]
    return argv, env, scratch


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


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _attempt(argv: list, run: plan.VmRun, number: int, log: TextIO,
             env: Optional[Dict[str, str]] = None, cwd: Optional[Path] = None) -> Attempt:
    """One VMM process (or scenario script), in a session of its own: stdout and stderr read
    line by line and stamped on arrival. Once it has ended, whatever it left running in its
    session is killed (a leftover would hold the pipes open)."""
    log.write(f"# {run.run_id} attempt {number}: {shlex.join(argv)}\n")
    attempt = Attempt(run.run_id, number, time.time(), timeout_s=run.timeout_s)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,
                            preexec_fn=die_with_parent, env=env, cwd=cwd)
    leader_ended = False
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
                if not leader_ended and proc.poll() is not None:
                    leader_ended = True
                    _kill_group(proc.pid)
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
        _kill_group(proc.pid)
        status = proc.wait()
        proc.stdout.close()
        proc.stderr.close()
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
        shared_env = (_script_setup(runs, artifacts, ember, qemu, work)
                      if any(r.l1_script for r in runs) else {})
        for run_ in runs:
            env = scratch = None
            if run_.l1_script:
                argv, env, scratch = _script_command(run_, artifacts, ember, work, shared_env)
            else:
                argv = _argv(run_, artifacts, ember, qemu, work)
            attempts = transcript.attempts.setdefault(run_.run_id, [])
            for number in range(1, run_.retries + 2):
                if scratch is not None:  # an empty scratch folder per attempt
                    shutil.rmtree(scratch, ignore_errors=True)
                    scratch.mkdir(parents=True)
                helpers = []
                if run_.vsock:
                    uds = str(work / f"{run_.run_id}.vsock")
                    helpers = [subprocess.Popen(h, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                                preexec_fn=die_with_parent)
                               for h in plan.vsock_host_commands(str(artifacts.vsock_echo), uds)]
                try:
                    attempts.append(_attempt(argv, run_, number, log, env, scratch))
                finally:
                    for h in helpers:
                        h.kill()
                        h.wait()
                    if scratch is not None:
                        shutil.rmtree(scratch, ignore_errors=True)
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
