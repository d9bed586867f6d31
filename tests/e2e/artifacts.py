"""The guest artifacts that scripts/build-guest-artifacts.sh leaves in OUT_DIR, checked."""

from dataclasses import dataclass
from pathlib import Path
from typing import List


class ArtifactError(Exception):
    pass


@dataclass(frozen=True)
class Artifacts:
    root: Path
    vmlinuz: Path              # bzImage
    vmlinux: Path              # ELF
    l2_initramfs: Path
    l1_modules: List[Path]     # kvm and friends for L1, in load order (empty unless asked)
    rootfs: Path               # l2/rootfs.ext4
    vsock_echo: Path           # tools/vsock-echo

    @property
    def tools_dir(self) -> Path:
        """OUT_DIR/tools: the static tools (tests/fixtures/guest/tools) for the guest and the host side."""
        return self.vsock_echo.parent

    def kernel(self, name: str) -> Path:
        if name == "vmlinuz":
            return self.vmlinuz
        if name == "vmlinux":
            return self.vmlinux
        raise ArtifactError(f"unknown kernel {name!r} (scenarios use vmlinuz or vmlinux)")


def _read_order(path: Path) -> List[str]:
    names = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            if "/" in line or line in (".", ".."):
                raise ArtifactError(f"{path}: {line!r} is not a plain module file name")
            names.append(line)
    if not names:
        raise ArtifactError(f"{path} names no module")
    return names


def load(root: Path, need_l1: bool) -> Artifacts:
    """Checks the layout; need_l1 also requires the L1 kvm modules (nested mode)."""
    hint = f"build them with: scripts/build-guest-artifacts.sh {root}"
    kdir = root / "kernel"
    files = {"vmlinuz": kdir / "vmlinuz", "vmlinux": kdir / "vmlinux",
             "initramfs": root / "l2" / "initramfs.cpio.gz",
             "rootfs": root / "l2" / "rootfs.ext4", "vsock-echo": root / "tools" / "vsock-echo"}
    if need_l1:
        files["l1.order"] = kdir / "modules" / "l1.order"
    missing = [str(p) for p in files.values() if not p.is_file() or p.stat().st_size == 0]
    if missing:
        raise ArtifactError(f"guest artifacts missing or empty: {', '.join(missing)}; {hint}")
    modules = []
    if need_l1:
        for name in _read_order(files["l1.order"]):
            module = kdir / "modules" / name
            if not module.is_file():
                raise ArtifactError(f"{files['l1.order']} names {name}, which is not in "
                                    f"{kdir / 'modules'}; {hint}")
            modules.append(module)
    return Artifacts(root, files["vmlinuz"], files["vmlinux"], files["initramfs"], modules,
                     files["rootfs"], files["vsock-echo"])
