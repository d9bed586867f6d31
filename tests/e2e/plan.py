"""What to run: the VMM invocations (scenarios, benchmark boots) and their command lines.

Direct and nested mode run the same VmRun list; only the paths differ (the host's artifact
folder, or /e2e/... inside the L1 initramfs).
"""

from dataclasses import dataclass
import json
import shlex
from typing import Dict, List, Optional, Sequence, Tuple

from scenarios import BASE_BOOT_ARGS, Scenario

BENCH_MEM_MIB = 256
BENCH_L2_SCENARIO = "boot"
BENCH_KERNEL = "vmlinuz"  # the bzImage: what both VMMs are handed by most users


@dataclass(frozen=True)
class VmRun:
    run_id: str                # scenario name, or bench.<vmm>.<i>
    vmm: str                   # "ember" or "qemu"
    kernel: str                # "vmlinuz" or "vmlinux"
    vcpus: int
    mem_mib: int
    boot_args: str
    timeout_s: int
    retries: int               # extra attempts after a timeout
    scenario: Optional[str]    # the scenario it judges, None for a benchmark boot
    rootfs: bool = False       # a writable copy of rootfs.ext4 as a virtio-block drive
    vsock: bool = False        # a virtio-vsock device, with the host-side echo helpers
    l1_script: Optional[str] = None   # a scripted scenario: tests/e2e/l1_scripts/<name>.sh
    l1_tools: Tuple[str, ...] = ()    # the optional L1 tools that script needs
    l1_env: Tuple[Tuple[str, str], ...] = ()   # extra environment of that script

# Ports of the vsock scenario (tests/fixtures/guest/initramfs/e2e/vsock.sh).
VSOCK_HOST_PORT = 6000   # the guest connects to the host here
VSOCK_GUEST_PORT = 5000  # the host connects to the guest here


def scenario_runs(scenarios: Sequence[Scenario], default_timeout: int) -> List[VmRun]:
    return [VmRun(s.name, "script" if s.l1_script else "ember", s.kernel, s.vcpus, s.mem_mib,
                  s.boot_args(), s.timeout_s or default_timeout, 1, s.name, s.rootfs, s.vsock,
                  s.l1_script, tuple(s.l1_tools), tuple(s.l1_env)) for s in scenarios]


def bench_runs(iterations: int, timeout: int) -> List[VmRun]:
    """ember and QEMU alternate, boot by boot, so load on the machine hits both alike."""
    args = f"{BASE_BOOT_ARGS} ember.e2e={BENCH_L2_SCENARIO}"
    runs = []
    for i in range(1, iterations + 1):
        for vmm in ("ember", "qemu"):
            runs.append(VmRun(f"bench.{vmm}.{i}", vmm, BENCH_KERNEL, 1, BENCH_MEM_MIB, args,
                              timeout, 0, None))
    return runs


def bench_commands() -> dict:
    """The benchmark's two command lines, as the results record them."""
    run = bench_runs(1, 0)[0]
    return {"ember_command": shlex.join(ember_argv("ember", "vm.json")),
            "ember_config": json.loads(ember_config(run, "vmlinuz", "initramfs.cpio.gz")),
            "qemu_command": shlex.join(qemu_argv("qemu-system-x86_64", run, "vmlinuz",
                                                 "initramfs.cpio.gz"))}


def shell_run(kernel: str, vcpus: int, mem_mib: int) -> VmRun:
    """The interactive demo: no ember.e2e, so the L2 initramfs starts a shell."""
    return VmRun("shell", "ember", kernel, vcpus, mem_mib, BASE_BOOT_ARGS, 0, 0, None)


def ember_config(run: VmRun, kernel_path: str, initrd_path: str,
                 rootfs_path: Optional[str] = None, vsock_uds: Optional[str] = None) -> str:
    """ember's --config-file contents (Firecracker's keys)."""
    config = {
        "boot-source": {"kernel_image_path": kernel_path, "initrd_path": initrd_path,
                        "boot_args": run.boot_args},
        "machine-config": {"vcpu_count": run.vcpus, "mem_size_mib": run.mem_mib},
    }
    if run.rootfs:
        config["drives"] = [{"drive_id": "rootfs", "path_on_host": rootfs_path,
                             "is_root_device": False, "is_read_only": False}]
    if run.vsock:
        config["vsock"] = {"guest_cid": 3, "uds_path": vsock_uds}
    return json.dumps(config, indent=1) + "\n"


def vsock_host_commands(vsock_echo: str, uds: str) -> List[List[str]]:
    """The host side of the vsock scenario, started before ember and stopped after it: an echo
    server where ember forwards the guest's connection, and a client that retries until the
    guest listens (its exchange is what the guest reports)."""
    retry = (f"i=0; while [ $i -lt 600 ]; do {shlex.quote(vsock_echo)} uds-connect "
             f"{shlex.quote(uds)} {VSOCK_GUEST_PORT} ping-from-host >/dev/null 2>&1 && exit 0; "
             f"i=$((i+1)); sleep 0.2; done; exit 1")
    return [[vsock_echo, "uds-listen", f"{uds}_{VSOCK_HOST_PORT}"], ["sh", "-c", retry]]


@dataclass(frozen=True)
class ScriptPaths:
    """Where a scripted scenario finds things, in the file system it runs in (L1's, or the
    host's in direct mode)."""
    ember: str
    vmlinuz: str
    vmlinux: str
    initramfs: str
    rootfs: str          # read-only original: a script copies it before attaching it
    tools: str           # OUT_DIR/tools: vsock-echo and the other static guest/host tools
    scripts: str         # tests/e2e/l1_scripts


def script_env(run: VmRun, paths: ScriptPaths, scratch: str, mode: str,
               tools: Dict[str, str]) -> Dict[str, str]:
    """The environment of an L1 scenario script (tests/e2e/README.md, "Scripted scenarios");
    `tools` maps the tools' variables (CURL, IP, ...) to their paths."""
    kernel = paths.vmlinuz if run.kernel == "vmlinuz" else paths.vmlinux
    env = {"E2E_NAME": run.run_id, "E2E_MODE": mode, "E2E_TIMEOUT": str(run.timeout_s),
           "EMBER": paths.ember, "L2_VMLINUZ": paths.vmlinuz, "L2_VMLINUX": paths.vmlinux,
           "L2_KERNEL": kernel, "L2_INITRAMFS": paths.initramfs, "L2_ROOTFS": paths.rootfs,
           "E2E_TOOLS": paths.tools, "VSOCK_ECHO": f"{paths.tools}/vsock-echo",
           "L1_SCRIPTS": paths.scripts, "BOOT_ARGS": run.boot_args,
           "E2E_VCPUS": str(run.vcpus), "E2E_MEM_MIB": str(run.mem_mib), "SCRATCH": scratch}
    if mode == "nested":
        # l1_say also writes its line straight to L1's console (E2E-LIVE): the run's output
        # reaches the host only when the run ends, and if L1 itself stops during the run the
        # live lines are all that tells how far it got.
        env["E2E_LIVE"] = "/dev/console"
    env.update(tools)
    env.update(dict(run.l1_env))
    return env


def script_path(scripts_dir: str, run: VmRun) -> str:
    return f"{scripts_dir}/{run.l1_script}.sh"


def ember_argv(ember: str, config_path: str) -> List[str]:
    return [ember, "--no-api", "--config-file", config_path]


def qemu_argv(qemu: str, run: VmRun, kernel_path: str, initrd_path: str) -> List[str]:
    """QEMU's microvm machine booting the same kernel and initramfs. The default CPU model:
    `-cpu host` or `max` can make QEMU abort on these machines."""
    return [qemu, "-M", "microvm", "-accel", "kvm", "-m", str(run.mem_mib),
            "-smp", str(run.vcpus), "-nodefaults", "-no-user-config", "-nographic",
            "-serial", "stdio", "-no-reboot",
            "-kernel", kernel_path, "-initrd", initrd_path, "-append", run.boot_args]
