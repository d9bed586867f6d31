"""The L1 initramfs for nested mode: busybox, the kvm modules, ember, the L2 kernel and
initramfs, one ember config per run, and a generated /init that runs them all and reports
over the serial console (protocol.py).

Layout inside L1:
  /init                       generated shell script (busybox sh)
  /bin/busybox                applets installed at boot (busybox --install -s)
  /e2e/modules/*.ko           from OUT_DIR/kernel/modules, order of l1.order
  /e2e/bin/ember              the ember binary (stripped copy; static, or with its libraries)
  /e2e/l2/{vmlinuz,vmlinux,initramfs.cpio.gz}
  /e2e/vm/<run id>.json       ember's config per run
  /usr/bin/qemu-system-x86_64, its libraries, /usr/share/{qemu,seabios}: the benchmark, or a
                              scripted scenario with l1_tools=("qemu",), only
With a scripted scenario (scenarios.py l1_script) also:
  /e2e/l1_scripts/            all of tests/e2e/l1_scripts/
  /e2e/tools/                 all of OUT_DIR/tools/ (vsock-echo, ...)
  /e2e/l2/rootfs.ext4         read-only original
  the tools of STANDARD_TOOLS (curl, iproute2's ip; emberctl when built) with their libraries
"""

import os
from pathlib import Path
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from typing import Callable, Dict, Iterable, List, Optional, Sequence

from artifacts import Artifacts
import plan
from protocol import SHELL_FUNCTIONS

# kvm_amd's parameters for a nested-capable KVM in L1 (/work/shared/TESTING.md). vgif=0: KVM
# then keeps L2's global interrupt flag itself instead of through QEMU's emulated virtual GIF
# (VMCB V_GIF, APM vol. 2 §15.33); L1 was seen to stop for good right after starting an L2 now
# and then (in one CI run, seven times in a row), which is what a host interrupt held back by a
# wrongly emulated GIF would look like. L2 never runs SVM itself, so it loses nothing.
KVM_AMD_PARAMS = "npt=1 nested=1 vgif=0"
MODULE_PARAMS: Dict[str, str] = {"kvm-amd.ko": KVM_AMD_PARAMS, "kvm_amd.ko": KVM_AMD_PARAMS}

# Firmware QEMU's microvm machine may ask for (the benchmark only).
QEMU_DATA_DIRS = ("/usr/share/qemu", "/usr/share/seabios")
QEMU_DATA_MAX_FILE = 1 << 20

L1_EMBER = "/e2e/bin/ember"
# QEMU finds its firmware relative to its own path (../share/qemu): keep the host layout.
L1_QEMU = "/usr/bin/qemu-system-x86_64"
L1_VSOCK_ECHO = "/e2e/bin/vsock-echo"
HEARTBEAT = "E2E-L1-TICK"
HEARTBEAT_SECONDS = 10
L1_ROOTFS = "/e2e/l2/rootfs.ext4"
L1_SCRIPTS = "/e2e/l1_scripts"
L1_TOOLS_DIR = "/e2e/tools"
L1_SCRATCH = "/tmp/e2e-scratch"
HOST_SCRIPTS = Path(__file__).resolve().parent / "l1_scripts"


@dataclass(frozen=True)
class L1Tool:
    """A host binary a scripted scenario may use, copied into L1 with the libraries `ldd`
    lists; the script finds its path in the variable `env`. Binaries are found by their path,
    never by name: busybox sh runs its own applet of the same name first (its `ip` has no
    `tuntap`), so scripts call "$IP", "$CURL"."""
    env: str
    inside: str                                   # its path in L1
    find: Callable[[Path], Optional[str]]         # its path on the host, given the ember binary
    required: bool = True                         # missing on the host: an error, else unset


def _which(*names: str) -> Callable[[Path], Optional[str]]:
    def find(_ember: Path) -> Optional[str]:
        for name in names:
            found = shutil.which(name, path="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
            if found:
                return found
        return None
    return find


def _next_to_ember(*names: str) -> Callable[[Path], Optional[str]]:
    """A binary of the same build as ember (its bin/ folder), e.g. emberctl."""
    def find(ember: Path) -> Optional[str]:
        for name in names:
            candidate = ember.parent / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
        return None
    return find


# Every scripted scenario gets these. To add a tool: one entry here (or in OPTIONAL_TOOLS).
STANDARD_TOOLS: Dict[str, L1Tool] = {
    "curl": L1Tool("CURL", "/usr/bin/curl", _which("curl")),
    "ip": L1Tool("IP", "/usr/sbin/ip", _which("ip")),   # iproute2: `ip tuntap add ...`
    "emberctl": L1Tool("EMBERCTL", "/e2e/bin/emberctl",
                       _next_to_ember("emberctl-static", "emberctl"), required=False),
    "jailer": L1Tool("JAILER", "/e2e/bin/ember-jailer", _next_to_ember("ember-jailer"), required=False),
}
# Only the scripted scenarios that name them in l1_tools get these (they are large).
OPTIONAL_TOOLS: Dict[str, L1Tool] = {
    "qemu": L1Tool("QEMU", L1_QEMU, _which("qemu-system-x86_64")),
}


def tool(name: str) -> L1Tool:
    if name in STANDARD_TOOLS:
        return STANDARD_TOOLS[name]
    if name in OPTIONAL_TOOLS:
        return OPTIONAL_TOOLS[name]
    raise L1BuildError(f"unknown L1 tool {name!r} (l1.py STANDARD_TOOLS / OPTIONAL_TOOLS: "
                       f"{', '.join(list(STANDARD_TOOLS) + list(OPTIONAL_TOOLS))})")


def script_tools(runs: Sequence["plan.VmRun"], ember: Path) -> Dict[str, tuple]:
    """{tool name: (L1Tool, host path or None)} for the scripted runs among `runs`."""
    scripted = [r for r in runs if r.l1_script]
    if not scripted:
        return {}
    names = list(STANDARD_TOOLS) + sorted({t for r in scripted for t in r.l1_tools})
    found = {}
    for name in names:
        spec = tool(name)
        host = spec.find(ember)
        if host is None and spec.required:
            raise L1BuildError(f"the scripted scenarios need {name} on this host "
                               f"({spec.env} in their environment); install it")
        found[name] = (spec, host)
    return found


def l1_script_paths() -> "plan.ScriptPaths":
    return plan.ScriptPaths(ember=L1_EMBER, vmlinuz="/e2e/l2/vmlinuz", vmlinux="/e2e/l2/vmlinux",
                            initramfs="/e2e/l2/initramfs.cpio.gz", rootfs=L1_ROOTFS,
                            tools=L1_TOOLS_DIR, scripts=L1_SCRIPTS)


def run_files(run_id: str) -> tuple:
    """Per-run scratch paths in L1's tmpfs: the drive's writable copy and the vsock socket."""
    return f"/tmp/{run_id}.ext4", f"/tmp/{run_id}.vsock"


class L1BuildError(Exception):
    pass


def l1_paths(kernel: str) -> tuple:
    return f"/e2e/l2/{kernel}", "/e2e/l2/initramfs.cpio.gz"


def shared_libraries(binary: str) -> List[str]:
    """Absolute paths of the shared libraries (and loader) `ldd` lists; [] for a static one."""
    proc = subprocess.run(["ldd", binary], capture_output=True, text=True)
    if proc.returncode != 0:  # "not a dynamic executable"
        return []
    libs = []
    for line in proc.stdout.splitlines():
        parts = line.split()
        if "=>" in parts:
            target = parts[parts.index("=>") + 1]
            if target == "not":
                raise L1BuildError(f"{binary}: ldd cannot find {parts[0]}")
            if target.startswith("/"):
                libs.append(target)
        elif parts and parts[0].startswith("/"):
            libs.append(parts[0])
    return libs


class _Stage:
    """A folder of links to the real files; `cpio -L` archives what they point at, so the
    large kernel images are never copied."""

    def __init__(self, root: Path):
        self.root = root

    def _dest(self, inside: str) -> Path:
        dest = self.root / inside.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        return dest

    def link(self, inside: str, source: Path) -> None:
        dest = self._dest(inside)
        if not dest.exists():
            os.symlink(os.path.realpath(source), dest)

    def text(self, inside: str, content: str, mode: int = 0o644) -> None:
        dest = self._dest(inside)
        dest.write_text(content)
        dest.chmod(mode)

    def stripped(self, inside: str, source: Path) -> None:
        """A stripped copy (ember's debug info would double the image for nothing)."""
        dest = self._dest(inside)
        strip = shutil.which("strip")
        if strip and subprocess.run([strip, "-o", str(dest), str(source)],
                                    capture_output=True).returncode == 0:
            dest.chmod(0o755)
        else:
            shutil.copy2(source, dest)

    def libraries_of(self, binary: Path) -> None:
        for lib in shared_libraries(str(binary)):
            self.link(lib, Path(lib))

    def dirs(self, names: Iterable[str]) -> None:
        for name in names:
            (self.root / name).mkdir(parents=True, exist_ok=True)


def _insmod_lines(modules: Sequence[Path]) -> List[str]:
    lines = []
    for module in modules:
        params = MODULE_PARAMS.get(module.name, "")
        cmd = f"insmod /e2e/modules/{shlex.quote(module.name)} {params}".rstrip()
        lines.append(f'{cmd} || fail "{cmd} failed"')
    return lines


def _vm_command(run: plan.VmRun) -> str:
    kernel, initrd = l1_paths(run.kernel)
    if run.vmm == "ember":
        argv = plan.ember_argv(L1_EMBER, f"/e2e/vm/{run.run_id}.json")
    else:
        argv = plan.qemu_argv(L1_QEMU, run, kernel, initrd)
    return " ".join(shlex.quote(a) for a in argv)


def _export_lines(env: Dict[str, str]) -> List[str]:
    return [f"export {name}={shlex.quote(value)}" for name, value in env.items()]


def init_script(modules: Sequence[Path], runs: Sequence[plan.VmRun],
                interactive: Optional[plan.VmRun],
                tools: Optional[Dict[str, str]] = None) -> str:
    """The L1 /init: load kvm, then either every run (reporting) or one interactive ember.
    `tools`: the scripted scenarios' tool variables ({"CURL": "/usr/bin/curl", ...})."""
    out = ["#!/bin/busybox sh",
           "# Generated by tests/e2e/l1.py: the nested end-to-end run inside L1.",
           "/bin/busybox --install -s /bin",
           "export PATH=/bin",
           "mount -t proc proc /proc",
           "mount -t sysfs sysfs /sys",
           "mount -t devtmpfs devtmpfs /dev 2>/dev/null",
           "mount -t tmpfs tmpfs /tmp",
           "uptime_s() { cut -d' ' -f1 /proc/uptime; }",
           'fail() { echo "E2E-L1-ERROR $*"; poweroff -f; sleep 30; }',
           SHELL_FUNCTIONS,
           'echo "E2E-L1 init-reached uptime=$(uptime_s) cpu-flags=$(grep -o -w -E \'svm|npt\' '
           '/proc/cpuinfo | sort -u | tr \'\\n\' , )"']
    out += _insmod_lines(modules)
    out += ['[ -c /dev/kvm ] || fail "/dev/kvm missing after loading the modules '
            '(kvm_amd nested=$(cat /sys/module/kvm_amd/parameters/nested 2>/dev/null))"',
            'echo "E2E-L1 kvm-ready uptime=$(uptime_s) nested=$(cat '
            '/sys/module/kvm_amd/parameters/nested) npt=$(cat /sys/module/kvm_amd/parameters/npt) '
            'vgif=$(cat /sys/module/kvm_amd/parameters/vgif)"']
    if interactive is None:
        # A heartbeat, so the host tells a wedged L1 (no progress at all) from a slow scenario
        # within a minute, instead of after the longest scenario time limit.
        out.append(f"(while :; do echo {HEARTBEAT}; sleep {HEARTBEAT_SECONDS}; done) &")
    if interactive is not None:
        out += ['echo "E2E-L1 starting ember with the L2 shell on this console; in L2, '
                '\'poweroff -f\' ends it (Ctrl-A x quits QEMU)"',
                _vm_command(interactive),
                'echo "E2E-L1 ember exited with status $?"']
    else:
        if any(r.l1_script for r in runs):
            # Scripted scenarios may use the loopback (a peer on 127.0.0.1, the API over TCP).
            out.append("ip link set lo up 2>/dev/null")
        for run in runs:
            if run.l1_script:
                env = plan.script_env(run, l1_script_paths(), f"{L1_SCRATCH}/{run.run_id}",
                                      "nested", tools or {})
                out += _export_lines(env)
                out.append(f"run_script {run.run_id} {run.retries} {run.timeout_s} "
                           f"{shlex.quote(plan.script_path(L1_SCRIPTS, run))}")
                continue
            rootfs, uds = run_files(run.run_id)
            helpers = []
            if run.rootfs:
                out.append(f"cp {L1_ROOTFS} {rootfs}")
            if run.vsock:
                for argv in plan.vsock_host_commands(L1_VSOCK_ECHO, uds):
                    out.append(" ".join(shlex.quote(a) for a in argv) + " >/dev/null 2>&1 &")
                    helpers.append("$!")
                    out.append(f"_helper{len(helpers)}=$!")
            out.append(f"run_vm {run.run_id} {run.retries} {run.timeout_s} {_vm_command(run)}")
            if helpers:
                out.append("kill " + " ".join(f"$_helper{i + 1}" for i in range(len(helpers))) + " 2>/dev/null")
            if run.rootfs:
                out.append(f"rm -f {rootfs}")
        out.append("echo E2E-L1-DONE")
    out += ["poweroff -f", "sleep 30", ""]
    return "\n".join(out)


def build(artifacts: Artifacts, ember: Path, runs: Sequence[plan.VmRun],
          work: Path, interactive: Optional[plan.VmRun] = None,
          qemu: Optional[Path] = None, compress: bool = True) -> Path:
    """Writes the L1 initramfs into `work` and returns its path."""
    stage = _Stage(work / "l1root")
    stage.dirs(["bin", "dev", "proc", "sys", "tmp", "e2e/vm"])
    stage.link("/bin/busybox", Path(_busybox()))
    for module in artifacts.l1_modules:
        stage.link(f"/e2e/modules/{module.name}", module)
    stage.stripped(L1_EMBER, ember)
    stage.libraries_of(ember)
    every = list(runs) + ([interactive] if interactive else [])
    for kernel in sorted({r.kernel for r in every}):
        stage.link(f"/e2e/l2/{kernel}", artifacts.kernel(kernel))
    stage.link("/e2e/l2/initramfs.cpio.gz", artifacts.l2_initramfs)
    for run in every:
        if run.vmm == "ember":
            kernel, initrd = l1_paths(run.kernel)
            rootfs, uds = run_files(run.run_id)
            stage.text(f"/e2e/vm/{run.run_id}.json", plan.ember_config(run, kernel, initrd, rootfs, uds))
    if any(r.rootfs for r in every):
        stage.link(L1_ROOTFS, artifacts.rootfs)
    if any(r.vsock for r in every):
        stage.link(L1_VSOCK_ECHO, artifacts.vsock_echo)
    tools = script_tools(every, ember)
    if tools:
        _stage_scripted(stage, artifacts, tools)
    needs_qemu = any(r.vmm == "qemu" for r in every) or "qemu" in tools
    if needs_qemu:
        if qemu is None:
            raise L1BuildError("the benchmark needs qemu-system-x86_64 for L1's initramfs")
        stage.link(L1_QEMU, qemu)
        stage.libraries_of(qemu)
        _stage_qemu_data(stage)
    tool_env = {spec.env: spec.inside for spec, host in tools.values() if host is not None}
    stage.text("/init", init_script(artifacts.l1_modules, runs, interactive, tool_env), 0o755)
    return _archive(stage.root, work / ("l1.cpio.gz" if compress else "l1.cpio"), compress)


def _stage_scripted(stage: _Stage, artifacts: Artifacts, tools: Dict[str, tuple]) -> None:
    """What scripted scenarios use: their scripts, the static tools, the L2 rootfs (read-only:
    the scripts copy it), and the host tools with their libraries (QEMU is staged apart)."""
    if not HOST_SCRIPTS.is_dir():
        raise L1BuildError(f"{HOST_SCRIPTS} is missing")
    for path in sorted(HOST_SCRIPTS.rglob("*")):
        if path.is_file():
            stage.link(f"{L1_SCRIPTS}/{path.relative_to(HOST_SCRIPTS)}", path)
    for path in sorted(artifacts.tools_dir.iterdir()):
        if path.is_file():
            stage.link(f"{L1_TOOLS_DIR}/{path.name}", path)
    stage.link(L1_ROOTFS, artifacts.rootfs)
    for kernel in ("vmlinuz", "vmlinux"):
        stage.link(f"/e2e/l2/{kernel}", artifacts.kernel(kernel))
    for name, (spec, host) in tools.items():
        if host is None or name == "qemu":
            continue
        if spec.inside.startswith("/e2e/"):
            stage.stripped(spec.inside, Path(host))   # one of ours: drop the debug info
        else:
            stage.link(spec.inside, Path(host))
        stage.libraries_of(Path(host))


def _busybox() -> str:
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        if os.path.isfile(candidate) and not shared_libraries(candidate):
            return candidate
    raise L1BuildError("a static busybox is needed for L1 (Debian package busybox-static)")


def _stage_qemu_data(stage: _Stage) -> None:
    for folder in QEMU_DATA_DIRS:
        if not os.path.isdir(folder):
            continue
        for entry in sorted(os.listdir(folder)):
            path = os.path.join(folder, entry)
            if os.path.isfile(path) and os.path.getsize(path) <= QEMU_DATA_MAX_FILE:
                stage.link(path, Path(path))


def _archive(root: Path, out: Path, compress: bool) -> Path:
    """cpio (newc, owned by root, links followed) piped through gzip -1."""
    for tool in ("cpio",) + (("gzip",) if compress else ()):
        if shutil.which(tool) is None:
            raise L1BuildError(f"{tool} is needed to build the L1 initramfs (Debian package {tool})")
    names = subprocess.run(["find", "."], cwd=root, capture_output=True, text=True,
                           check=True).stdout
    with open(out, "wb") as sink:
        cpio = subprocess.Popen(["cpio", "-o", "-H", "newc", "-L", "-R", "0:0", "--quiet"],
                                cwd=root, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE if compress else sink)
        gz = (subprocess.Popen(["gzip", "-1", "-c"], stdin=cpio.stdout, stdout=sink)
              if compress else None)
        if gz is not None:
            cpio.stdout.close()
        cpio.stdin.write(names.encode())
        cpio.stdin.close()
        cpio.wait()
        if cpio.returncode != 0 or (gz is not None and gz.wait() != 0):
            raise L1BuildError(f"building {out} with cpio failed")
    return out
