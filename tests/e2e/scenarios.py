"""The end-to-end scenarios: ONE table, the only place a scenario is defined.

Each entry boots Debian's stock kernel on ember with the L2 initramfs that
scripts/build-guest-artifacts.sh builds; the initramfs' /init reads
`ember.e2e=<l2_scenario>` from the kernel command line and acts on it (see
tests/e2e/README.md). A new entry here is a new `e2e.<name>` ctest test at the
next CMake configure (tests/e2e/CMakeLists.txt asks `e2e.py list`).

Fields:
  name            unique test name ([a-z0-9_]+)
  kernel          "vmlinuz" (bzImage) or "vmlinux" (ELF), from OUT_DIR/kernel/
  vcpus, mem_mib  ember's machine-config
  l2_scenario     the value of ember.e2e= on the guest command line
  expect_exit     0, or NONZERO (any exit status other than 0 that is not a timeout)
  required        regexes (Python `re.search`) that must each match some L2 console line
  forbidden       regexes that must match no L2 console line
  timeout_s       per-attempt limit; None takes `e2e.py run --timeout`
  rootfs          attach a writable copy of OUT_DIR/l2/rootfs.ext4 as a virtio-block drive
                  (/dev/vda) and boot into it (ember.root=/dev/vda)
  vsock           attach a virtio-vsock device; the host side runs OUT_DIR/tools/vsock-echo:
                  an echo server on <uds_path>_6000 and a client that keeps trying port 5000
  l1_script       a scripted scenario: instead of one ember from a generated config, the
                  harness runs tests/e2e/l1_scripts/<l1_script>.sh under busybox sh (in L1, or
                  on the host in direct mode) with the paths it needs in its environment; the
                  script starts ember (or two, or ember's API, taps, peers...) itself, its
                  stdout is the console judged by `required`/`forbidden` and its exit status is
                  judged by `expect_exit` (tests/e2e/README.md, "Scripted scenarios").
                  kernel/vcpus/mem_mib/l2_scenario reach it as L2_KERNEL, E2E_VCPUS,
                  E2E_MEM_MIB and BOOT_ARGS; rootfs and vsock do not apply (the script attaches
                  what it needs)
  l1_tools        extra tools a scripted scenario needs in L1 beyond the standard ones (names of
                  l1.py's OPTIONAL_TOOLS, e.g. "qemu")
  l1_env          extra environment variables of a scripted scenario, as (NAME, VALUE) pairs
"""

from dataclasses import dataclass, field
from typing import Optional, Tuple, Union

NONZERO = "non-zero"

# The guest command line shared by every scenario. lpj= is needed in nested mode: without it
# most L2 boots hang in calibrate_delay() (/work/shared/TESTING.md). No `nomodule`: the L2
# initramfs loads modules with insmod.
BASE_BOOT_ARGS = ("console=ttyS0 reboot=k panic=1 pci=off i8042.noaux i8042.nomux "
                  "i8042.dumbkbd lpj=1904640")

# Lines the L2 /init prints when something went wrong on its side (tests/fixtures/guest/initramfs/init):
# every scenario forbids them.
_GUEST_TROUBLE = (r"E2E-L2 (insmod-failed|scenario-missing|scenario-returned)",)
# Every scenario but `panic` also forbids a panic.
_NO_PANIC = _GUEST_TROUBLE + (r"Kernel panic - not syncing",)


@dataclass(frozen=True)
class Scenario:
    name: str
    kernel: str
    vcpus: int
    mem_mib: int
    l2_scenario: str
    expect_exit: Union[int, str]
    required: Tuple[str, ...] = ()
    forbidden: Tuple[str, ...] = _NO_PANIC
    timeout_s: Optional[int] = None
    extra_boot_args: str = field(default="")
    rootfs: bool = False
    vsock: bool = False
    l1_script: Optional[str] = None
    l1_tools: Tuple[str, ...] = ()
    l1_env: Tuple[Tuple[str, str], ...] = ()

    def boot_args(self) -> str:
        args = f"{BASE_BOOT_ARGS} ember.e2e={self.l2_scenario}"
        if self.rootfs:
            args += " ember.root=/dev/vda"
        return f"{args} {self.extra_boot_args}".strip()


SCENARIOS = (
    Scenario("boot_bzimage", "vmlinuz", 1, 256, "boot", 0,
             required=(r"E2E-L2 init-reached", r"E2E-L2 uname \S+")),
    Scenario("boot_elf", "vmlinux", 1, 256, "boot", 0,
             required=(r"E2E-L2 init-reached", r"E2E-L2 uname \S+")),
    Scenario("smp", "vmlinuz", 2, 256, "smp", 0,
             required=(r"E2E-L2 init-reached", r"E2E-L2 cpus 2\b")),
    Scenario("reboot", "vmlinuz", 1, 256, "reboot", 0,
             required=(r"E2E-L2 init-reached",)),
    Scenario("poweroff", "vmlinuz", 1, 256, "poweroff", 0,
             required=(r"E2E-L2 init-reached",)),
    Scenario("panic", "vmlinuz", 1, 256, "panic", NONZERO,
             required=(r"E2E-L2 init-reached", r"E2E-L2 panicking",
                       r"Kernel panic - not syncing"),
             forbidden=_GUEST_TROUBLE),
    Scenario("modules", "vmlinuz", 1, 256, "modules", 0,
             required=(r"E2E-L2 init-reached", r"E2E-L2 module \S+ loaded"),
             forbidden=_NO_PANIC + (r"E2E-L2 module \S+ missing",)),
    Scenario("block_rootfs", "vmlinuz", 1, 256, "block", 0, rootfs=True,
             required=(r"E2E-L2 root /dev/vda", r"E2E-L2 block root /dev/vda",
                       r"E2E-L2 block size 131072 sectors", r"E2E-L2 block write-read ok"),
             forbidden=_NO_PANIC + (r"E2E-L2 root-failed", r"E2E-L2 block write-read failed")),
    Scenario("vsock", "vmlinuz", 1, 256, "vsock", 0, vsock=True,
             required=(r"E2E-L2 vsock guest-to-host hello-from-guest",
                       r"E2E-L2 vsock host-to-guest ping-from-host")),
    # Scripted scenarios (tests/e2e/l1_scripts/<l1_script>.sh drives ember).
    Scenario("net", "vmlinuz", 1, 256, "net", 0, l1_script="net", timeout_s=300,
             required=(r"E2E-L2 net eth0 mac 06:00:ac:10:00:02", r"E2E-L2 net eth0 up",
                       r"E2E-L2 net ping guest-to-host ok", r"E2E-L1S net ping host-to-guest ok",
                       r"E2E-L1S net host-to-guest sha256 match",
                       r"E2E-L1S net guest-to-host sha256 match \(4194304 bytes\)"),
             forbidden=_NO_PANIC + (r"E2E-L[12]S? net .*(failed|mismatch|no-answer)",)),
    Scenario("getting_started", "vmlinuz", 1, 256, "getting_started", 0, l1_script="getting_started",
             timeout_s=600,
             required=(r"E2E-L1S curl PUT /logger 204", r"E2E-L1S curl PUT /drives/rootfs 204",
                       r"E2E-L1S curl PUT /network-interfaces/net1 204",
                       r"E2E-L1S curl PUT /actions 204", r"E2E-L2 gs drive vda \d+ sectors",
                       r"E2E-L2 gs net eth0 06:00:ac:10:00:02", r"E2E-L1S paused: no tick",
                       r"E2E-L1S resumed: ticking again",
                       r"E2E-L1S the guest restarted on Ctrl-Alt-Del",
                       r"E2E-L1S ember exited with status 0")),
    # A Firecracker client's launch (flintlock's command line and config file, the binary run as
    # `firecracker`) booting to userspace.
    Scenario("flintlock", "vmlinuz", 2, 256, "boot", 0, l1_script="flintlock", timeout_s=300,
             required=(r"E2E-L2 init-reached", r"E2E-L2 uname \S+",
                       r"E2E-L1S flintlock threads .*fc_vcpu 0,fc_vcpu 1,.*firecracker",
                       r"E2E-L1S flintlock firecracker exited with status 0$",
                       r"E2E-L1S flintlock log file written")),
    Scenario("jailed", "vmlinuz", 1, 256, "jailed", 0, l1_script="jailed", timeout_s=600,
             required=(r"E2E-L1S jailed Uid: 1000 1000 1000 1000", r"E2E-L1S jailed Gid: 1000 1000 1000 1000",
                       r"E2E-L1S jailed root is the chroot", r"E2E-L1S jailed cgroup 0::/ember/e2e-jail",
                       r"E2E-L1S jailed in its own network namespace",
                       r"E2E-L1S jailed seccomp (\d+) of \1 threads",
                       r"E2E-L2 jailed block mount-write ok", r"E2E-L2 jailed net ping ok",
                       r"E2E-L2 jailed vsock hello-from-jail",
                       r"E2E-L1S jailed ember exited with status 0")),
    Scenario("snapshot", "vmlinuz", 1, 256, "snapshot", 0, l1_script="snapshot", timeout_s=900,
             required=(r"E2E-L2 snapshot ready", r"E2E-L1S API PUT /snapshot/create 204",
                       r"E2E-L1S vsock connection held open",
                       r"E2E-L1S held connection after the snapshotted ember ended: held connection closed",
                       r"E2E-L1S vsock after restore after-restore",
                       r"E2E-L1S file kept across the restore", r"E2E-L1S clock moved forward",
                       r"E2E-L1S clones answered 10 of 10")),
    Scenario("drives", "vmlinuz", 1, 256, "drives", 0, l1_script="drives",
             required=(r"E2E-L2 drives fast=vd[a-z] slow=vd[a-z] ro=vd[a-z]",
                       r"E2E-L2 drives read 5 MiB direct: unlimited [\d.]+ s, limited [\d.]+ s",
                       r"E2E-L2 drives rate-limit ok", r"E2E-L2 drives rw write-read ok",
                       r"E2E-L2 drives ro flag 1", r"E2E-L2 drives ro write refused",
                       r"E2E-L1S drives ro image unchanged",
                       r"E2E-L1S drives rw block on the host matches the guest's sha256")),
    # The metadata service (MMDS, issue 14): l1_scripts/mmds*.sh with the guest's e2e/mmds*.sh.
    Scenario("mmds", "vmlinuz", 1, 256, "mmds", 0, l1_script="mmds", timeout_s=300,
             required=(r"E2E-L1S API PUT /mmds/config 204", r"E2E-L1S API PATCH /mmds 204",
                       r"E2E-L1S mmds store as PUT then PATCHed", r"E2E-L2 mmds eth0 up",
                       r"E2E-L2 mmds no-token HTTP/1\.1 401", r"E2E-L2 mmds token length [1-9]",
                       r"E2E-L2 mmds list latest/meta-data/: ami-id instance-id\s*$",
                       r"E2E-L2 mmds ami-id ami-e2e-patched\s*$",
                       r'E2E-L2 mmds json latest/meta-data: \{\s*"ami-id":\s*"ami-e2e-patched",'
                       r'\s*"instance-id":\s*"i-1"\s*\}',
                       r"E2E-L2 mmds bad-token HTTP/1\.1 401",
                       r"E2E-L1S mmds no frame reached tap0 during the MMDS phase",
                       r"E2E-L1S mmds tap0 rx_packets counted the peer traffic",
                       r"E2E-L2 mmds go seen", r"E2E-L2 mmds peer ping ok",
                       r"E2E-L2 mmds peer http peer-on-tap0", r"E2E-L1S mmds ember exited with status 0"),
             forbidden=_NO_PANIC + (r"E2E-L2 mmds .*(setup-failed|never came|ping failed)",
                                    r"E2E-L1S mmds frames reached tap0")),
    Scenario("mmds_flintlock", "vmlinuz", 1, 256, "mmds_flintlock", 0, l1_script="mmds_flintlock",
             timeout_s=300,
             required=(r"E2E-L2 mmdsfl eth0 up", r"E2E-L2 mmdsfl list latest/: meta-data user-data\s*$",
                       r"E2E-L2 mmdsfl meta-data first line instance_id: ns1/mvm0",
                       r"E2E-L2 mmdsfl user-data first line #cloud-config",
                       r"E2E-L1S mmdsfl meta-data bytes match", r"E2E-L1S mmdsfl user-data bytes match",
                       r"E2E-L1S mmdsfl firecracker exited with status 0$"),
             forbidden=_NO_PANIC + (r"E2E-L2 mmdsfl .*(setup-failed|failed:)",)),
    Scenario("mmds_clone", "vmlinuz", 1, 256, "mmds_clone", 0, l1_script="mmds_clone", timeout_s=600,
             required=(r"E2E-L1S mmds-clone original mmdsclone identity identity-a",
                       r"E2E-L1S API PUT /snapshot/create 204",
                       r'E2E-L1S mmds-clone 1 store \{"latest":\{"meta-data":\{"instance-id":"clone-1"\}\}\}',
                       r'E2E-L1S mmds-clone 2 store \{"latest":\{"meta-data":\{"instance-id":"clone-2"\}\}\}',
                       r"E2E-L1S mmds-clone 1 read its own identity clone-1",
                       r"E2E-L1S mmds-clone 2 read its own identity clone-2",
                       r"E2E-L1S mmds-clone 1 saw only its own identity",
                       r"E2E-L1S mmds-clone 2 saw only its own identity",
                       # Firecracker: a token from before the snapshot is not valid in a clone.
                       r"E2E-L1S mmds-clone 1: the old token was refused, a new one worked",
                       r"E2E-L1S mmds-clone 2: the old token was refused, a new one worked"),
             forbidden=_NO_PANIC + (r"E2E-L1S mmds-clone \d (never read|saw an identity not its own)",
                                    r"E2E-L2 mmdsclone eth0 setup-failed")),
    # emberctl (emberctl/README.md) with the guest agent: l1_scripts/emberctl_*.sh. L2 boots
    # from the rootfs, or for the pool from the initramfs; l2_scenario is unused (emberctl builds
    # the guest command line itself).
    Scenario("emberctl_run", "vmlinuz", 1, 256, "boot", 0, l1_script="emberctl_run", timeout_s=300,
             required=(r"E2E-L1S emberctl run status 7$", r"E2E-L1S emberctl run stdout first line out$",
                       r"E2E-L1S emberctl run stderr has err", r"E2E-L1S emberctl run json command_exit_code 7",
                       r"E2E-L1S emberctl nothing left behind")),
    Scenario("emberctl_copy", "vmlinuz", 1, 256, "boot", 0, l1_script="emberctl_copy", timeout_s=300,
             required=(r"E2E-L1S emberctl copy status 0$", r"E2E-L1S emberctl copy guest sha256 match",
                       r"E2E-L1S emberctl copy round trip sha256 match \(1048576 bytes\)",
                       r"E2E-L1S emberctl nothing left behind")),
    Scenario("emberctl_timeout", "vmlinuz", 1, 256, "boot", 0, l1_script="emberctl_timeout", timeout_s=300,
             required=(r"E2E-L1S emberctl timeout status 70$", r"E2E-L1S emberctl timeout json timed_out true",
                       r"E2E-L1S emberctl nothing left behind")),
    Scenario("emberctl_missing", "vmlinuz", 1, 256, "boot", 0, l1_script="emberctl_missing", timeout_s=300,
             required=(r"E2E-L1S emberctl missing status 69$", r"E2E-L1S emberctl missing message ok",
                       r"E2E-L1S emberctl nothing left behind")),
    Scenario("emberctl_pool", "vmlinuz", 1, 256, "boot", 0, l1_script="emberctl_pool", timeout_s=600,
             required=(r"E2E-L1S emberctl pool create status 0$",
                       r"E2E-L1S emberctl pool run 1 status 11 output clone1$",
                       r"E2E-L1S emberctl pool run 2 status 12 output clone2$",
                       r"E2E-L1S emberctl pool run 3 status 13 output clone3$",
                       r"E2E-L1S emberctl pool run 1 clock synced", r"E2E-L1S emberctl pool run 2 clock synced",
                       r"E2E-L1S emberctl pool run 3 clock synced",
                       r"E2E-L1S emberctl pool listed", r"E2E-L1S emberctl pool removed",
                       r"E2E-L1S emberctl nothing left behind")),
)


def by_name():
    """The table as {name: Scenario}; fails loudly on a duplicate name."""
    table = {}
    for scenario in SCENARIOS:
        if scenario.name in table:
            raise ValueError(f"scenarios.py: duplicate scenario name {scenario.name!r}")
        table[scenario.name] = scenario
    return table
