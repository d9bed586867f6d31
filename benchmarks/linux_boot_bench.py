#!/usr/bin/env python3
"""Linux boot benchmark: ember vs QEMU's microvm machine booting Debian's stock kernel (bzImage)
and the e2e L2 initramfs to its /init, side by side in one run.

A wrapper around `tests/e2e/e2e.py run --bench-only`: in nested mode (this host has no vmx/svm)
both VMMs run inside the same L1 VM, alternating boot by boot; in direct mode they run here.
Measured from just before the VMM starts to (1) the guest kernel's `Linux version` console line
and (2) the L2 /init's `E2E-L2 init-reached` line. Python 3 standard library only.

    scripts/build-guest-artifacts.sh && cmake --build build --target ember-static
    python3 benchmarks/linux_boot_bench.py [--iterations 3] [--json FILE] [--mode auto|nested|direct]

Figures and their meaning: benchmarks/README.md ("Linux boot benchmark").
"""

import argparse
import json
from pathlib import Path
import subprocess
import sys
import tempfile

ROOT = Path(__file__).resolve().parents[1]
E2E = ROOT / "tests" / "e2e" / "e2e.py"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--iterations", type=int, default=3, help="boots per VMM (default 3)")
    p.add_argument("--artifacts", default=str(ROOT / "build" / "guest-artifacts"))
    p.add_argument("--ember", default=str(ROOT / "build" / "bin" / "ember-static"))
    p.add_argument("--qemu", default="qemu-system-x86_64")
    p.add_argument("--mode", choices=("auto", "direct", "nested"), default="auto")
    p.add_argument("--timeout", type=int, default=150, help="seconds per boot (default 150)")
    p.add_argument("--json", help="write the e2e results (every sample) here")
    args = p.parse_args()
    if args.iterations < 1:
        p.error("--iterations must be at least 1")

    with tempfile.TemporaryDirectory(prefix="linux-boot-bench-") as tmp:
        results = Path(args.json) if args.json else Path(tmp) / "bench.json"
        cmd = [sys.executable, str(E2E), "run", "--bench-only",
               "--bench-iterations", str(args.iterations), "--artifacts", args.artifacts,
               "--ember", args.ember, "--qemu", args.qemu, "--mode", args.mode,
               "--timeout", str(args.timeout), "--results", str(results)]
        print("linux_boot_bench: " + " ".join(cmd), flush=True)
        status = subprocess.run(cmd).returncode
        if not results.is_file():
            print("linux_boot_bench: no results were written", file=sys.stderr)
            return 1
        bench = json.loads(results.read_text()).get("bench", {})
        print("linux_boot_bench: samples (s): " + json.dumps(bench.get("samples", {})))
    return status


if __name__ == "__main__":
    sys.exit(main())
