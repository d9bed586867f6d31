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
"""

from dataclasses import dataclass, field
from typing import Optional, Tuple, Union

NONZERO = "non-zero"

# The guest command line shared by every scenario. lpj= is needed in nested mode: without it
# most L2 boots hang in calibrate_delay() (/work/shared/TESTING.md). No `nomodule`: the L2
# initramfs loads modules with insmod.
BASE_BOOT_ARGS = ("console=ttyS0 reboot=k panic=1 pci=off i8042.noaux i8042.nomux "
                  "i8042.dumbkbd lpj=1904640")

# Lines the L2 /init prints when something went wrong on its side (guest/initramfs/init):
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
)


def by_name():
    """The table as {name: Scenario}; fails loudly on a duplicate name."""
    table = {}
    for scenario in SCENARIOS:
        if scenario.name in table:
            raise ValueError(f"scenarios.py: duplicate scenario name {scenario.name!r}")
        table[scenario.name] = scenario
    return table
