#!/usr/bin/env python3
"""Boot benchmark: ember against QEMU's microvm machine, booting the same guest in one run.

Both VMMs boot tests/guests' boottime guest (<build>/guests/boottime.elf, PVH entry) N times,
alternating between them so that drift on the host affects both alike. For each boot:

  first byte  time from exec() of the VMM to the guest's first serial byte 'E', which the guest
              writes with its very first instructions (exec -> first guest instruction)
  BOOTED      time from exec() to the "BOOTED" line (the guest writes the boot timer right after);
              for ember also the "Guest-boot-time = X us" that ember logs itself (--boot-timer)
  memory      once the guest prints "READY" and idles: the VMM's resident set from
              /proc/<pid>/smaps, in total and without the guest memory mapping (the anonymous
              mapping of the configured guest memory size), in KiB

Python 3 standard library only. See README.md next to this file.
"""

import argparse
import json
import os
import re
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tty

READY = b"READY"
BOOTED = b"BOOTED"
FIRST_BYTE = b"E"
GUEST_BOOT_TIME = re.compile(rb"Guest-boot-time\s*=\s*(\d+)\s*us")
# A guest memory mapping may carry a guard page or alignment slack beyond the guest memory size.
GUEST_MAPPING_SLACK = 4 << 20
SMAPS_HEADER = re.compile(r"^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$")


def default_build_path(*parts):
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(repo, "build", *parts)


class Sample:
    """One boot of one VMM. Times in milliseconds, memory in KiB; None where not measured."""

    def __init__(self):
        self.first_byte_ms = None
        self.booted_ms = None
        self.guest_boot_time_ms = None
        self.rss_kib = None
        self.rss_minus_guest_kib = None
        self.guest_rss_kib = None
        self.error = None

    def as_dict(self):
        return dict(vars(self))


def read_smaps(pid, guest_mem_bytes):
    """Returns (total Rss, Rss of the guest memory mapping or None) in KiB."""
    mappings = []  # [size_kib, rss_kib, is_anonymous]
    with open(f"/proc/{pid}/smaps") as smaps:
        for line in smaps:
            header = SMAPS_HEADER.match(line)
            if header:
                path = header.group(1).strip()
                mappings.append([0, 0, path == "" or path.startswith("[anon")])
            elif line.startswith("Size:") and mappings:
                mappings[-1][0] = int(line.split()[1])
            elif line.startswith("Rss:") and mappings:
                mappings[-1][1] = int(line.split()[1])
    total = sum(rss for _, rss, _ in mappings)
    guest_kib = guest_mem_bytes // 1024
    slack_kib = GUEST_MAPPING_SLACK // 1024
    candidates = [m for m in mappings if m[2] and guest_kib <= m[0] < guest_kib + slack_kib]
    if not candidates:
        return total, None
    # The closest in size is the guest memory; ties go to the most resident one.
    guest = min(candidates, key=lambda m: (m[0] - guest_kib, -m[1]))
    return total, guest[1]


def boot_once(cmd, guest_mem_bytes, timeout_s, log_prefix):
    """Starts the VMM, watches its console until READY, measures it, kills it."""
    sample = Sample()
    # The console goes to a raw pseudo-terminal: a VMM that buffers stdout when it is a pipe would
    # otherwise delay the bytes being timed.
    master, slave = os.openpty()
    tty.setraw(slave)
    console = b""
    log = b""
    proc = None
    try:
        start_ns = time.monotonic_ns()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=slave,
                                stderr=subprocess.PIPE, close_fds=True)
        os.close(slave)
        slave = -1
        os.set_blocking(proc.stderr.fileno(), False)
        selector = selectors.DefaultSelector()
        selector.register(master, selectors.EVENT_READ, "console")
        selector.register(proc.stderr, selectors.EVENT_READ, "log")
        deadline = start_ns + int(timeout_s * 1e9)
        open_streams = 2
        while READY not in console and open_streams > 0:
            remaining = (deadline - time.monotonic_ns()) / 1e9
            if remaining <= 0:
                sample.error = f"timeout after {timeout_s} s"
                break
            for key, _ in selector.select(timeout=min(remaining, 0.5)):
                now_ns = time.monotonic_ns()
                try:
                    chunk = os.read(key.fd, 65536)
                except OSError:  # EIO on the pty master once the VMM is gone
                    chunk = b""
                if not chunk:
                    selector.unregister(key.fileobj)
                    open_streams -= 1
                    continue
                if key.data == "log":
                    log += chunk
                    continue
                console += chunk
                elapsed_ms = (now_ns - start_ns) / 1e6
                if sample.first_byte_ms is None and FIRST_BYTE in console:
                    sample.first_byte_ms = elapsed_ms
                if sample.booted_ms is None and BOOTED in console:
                    sample.booted_ms = elapsed_ms
        if READY in console and proc.poll() is None:
            total, guest = read_smaps(proc.pid, guest_mem_bytes)
            sample.rss_kib = total
            if guest is not None:
                sample.guest_rss_kib = guest
                sample.rss_minus_guest_kib = total - guest
            else:
                sample.error = "no mapping of the guest memory size found in smaps"
        elif sample.error is None:
            try:
                status = proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                status = "unknown (closed its output)"
            sample.error = f"exited with status {status} before READY"
    except OSError as e:
        sample.error = f"could not run {cmd[0]}: {e}"
    finally:
        if proc is not None:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            try:
                _, rest = proc.communicate(timeout=10)
                log += rest or b""
            except subprocess.TimeoutExpired:
                sample.error = (sample.error or "") + " (the VMM did not die after SIGKILL)"
        if slave >= 0:
            os.close(slave)
        os.close(master)

    match = GUEST_BOOT_TIME.search(log)
    if match:
        sample.guest_boot_time_ms = int(match.group(1)) / 1000.0
    if sample.error:
        tail = (console[-300:] + b"\n--- log ---\n" + log[-600:]).decode(errors="replace")
        print(f"  {log_prefix}: {sample.error}\n{tail}", file=sys.stderr)
    return sample


def ember_command(args, workdir):
    config = {
        "boot-source": {"kernel_image_path": os.path.abspath(args.guest),
                        "boot_args": "console=ttyS0"},
        "machine-config": {"vcpu_count": 1, "mem_size_mib": args.mem_mib},
    }
    path = os.path.join(workdir, "vm.json")
    with open(path, "w") as f:
        json.dump(config, f)
    return [args.ember, "--no-api", "--boot-timer", "--config-file", path] + args.ember_arg


def qemu_command(args):
    # -nodefaults/-no-user-config: only what the machine type itself brings; -serial stdio: the
    # guest console on stdout, like ember's. QEMU's default CPU model: "-cpu host" aborts on some
    # nested KVM hosts (MSR 0x10a).
    return [args.qemu, "-M", args.qemu_machine, "-accel", args.qemu_accel,
            "-m", str(args.mem_mib), "-smp", "1", "-nographic", "-nodefaults", "-no-user-config",
            "-serial", "stdio", "-no-reboot", "-kernel", os.path.abspath(args.guest)] + args.qemu_arg


METRICS = [
    ("first_byte_ms", "exec -> first guest byte (ms)", "{:.2f}"),
    ("booted_ms", "exec -> BOOTED line (ms)", "{:.2f}"),
    ("guest_boot_time_ms", "Guest-boot-time logged (ms)", "{:.2f}"),
    ("rss_kib", "VMM RSS (KiB)", "{:.0f}"),
    ("rss_minus_guest_kib", "VMM RSS - guest memory (KiB)", "{:.0f}"),
    ("guest_rss_kib", "guest memory resident (KiB)", "{:.0f}"),
]


def summarize(values, fmt):
    if not values:
        return "n/a", None
    median = statistics.median(values)
    text = " / ".join(fmt.format(v) for v in (median, min(values), max(values)))
    return text, median


def print_table(results, vmms):
    width = 34
    header = f"{'metric (median / min / max)':<{width}}" + "".join(f"{v:>26}" for v in vmms)
    if len(vmms) == 2:
        header += f"{vmms[0] + '/' + vmms[1]:>16}"
    print(header)
    print("-" * len(header))
    for key, title, fmt in METRICS:
        row = f"{title:<{width}}"
        medians = []
        for vmm in vmms:
            values = [getattr(s, key) for s in results[vmm] if getattr(s, key) is not None]
            text, median = summarize(values, fmt)
            row += f"{text:>26}"
            medians.append(median)
        if len(vmms) == 2:
            ratio = "n/a"
            if medians[0] is not None and medians[1]:
                ratio = f"{medians[0] / medians[1]:.3f}"
            row += f"{ratio:>16}"
        print(row)
    for vmm in vmms:
        failed = sum(1 for s in results[vmm] if s.error)
        if failed:
            print(f"{vmm}: {failed} of {len(results[vmm])} runs failed (details above)")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ember", default=default_build_path("bin", "ember"),
                        help="ember binary (default: build/bin/ember)")
    parser.add_argument("--guest", default=default_build_path("guests", "boottime.elf"),
                        help="guest ELF with the PVH note (default: build/guests/boottime.elf)")
    parser.add_argument("--qemu", default="qemu-system-x86_64", help="QEMU binary")
    parser.add_argument("--qemu-machine", default="microvm",
                        help="QEMU -M value (default: microvm)")
    parser.add_argument("--qemu-accel", default="kvm", help="QEMU -accel value (default: kvm)")
    parser.add_argument("--mem-mib", type=int, default=128, help="guest memory (default: 128)")
    parser.add_argument("--iterations", type=int, default=10, help="boots per VMM (default: 10)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="unrecorded boots per VMM first, to warm caches (default: 1)")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per boot (default: 20)")
    parser.add_argument("--only", choices=["ember", "qemu"], help="run only one VMM")
    parser.add_argument("--ember-arg", action="append", default=[],
                        help="extra argument for ember (repeatable)")
    parser.add_argument("--qemu-arg", action="append", default=[],
                        help="extra argument for QEMU (repeatable)")
    parser.add_argument("--json", help="also write every sample to this JSON file")
    args = parser.parse_args()

    if args.iterations < 1 or args.warmup < 0 or args.mem_mib < 1 or args.timeout <= 0:
        parser.error("--iterations, --mem-mib and --timeout must be positive, --warmup >= 0")
    if not os.path.isfile(args.guest):
        sys.exit(f"guest {args.guest} not found: build the ember_guests target first")

    kvm_ok = os.access("/dev/kvm", os.R_OK | os.W_OK)
    if not kvm_ok:
        print("note: /dev/kvm is missing or not accessible", file=sys.stderr)

    vmms = []
    if args.only in (None, "ember"):
        if not (os.path.isfile(args.ember) and os.access(args.ember, os.X_OK)):
            print(f"note: ember not found at {args.ember}: skipping ember", file=sys.stderr)
        elif not kvm_ok:
            print("note: skipping ember (needs /dev/kvm)", file=sys.stderr)
        else:
            vmms.append("ember")
    if args.only in (None, "qemu"):
        if shutil.which(args.qemu) is None:
            print(f"note: {args.qemu} not found: skipping QEMU", file=sys.stderr)
        elif args.qemu_accel == "kvm" and not kvm_ok:
            print("note: skipping QEMU (-accel kvm needs /dev/kvm)", file=sys.stderr)
        else:
            vmms.append("qemu")
    if not vmms:
        sys.exit("nothing to run")

    mem_bytes = args.mem_mib << 20
    results = {vmm: [] for vmm in vmms}
    with tempfile.TemporaryDirectory(prefix="ember-boot-bench-") as workdir:
        commands = {"ember": ember_command(args, workdir) if "ember" in vmms else None,
                    "qemu": qemu_command(args)}
        for vmm in vmms:
            print(f"{vmm}: {' '.join(commands[vmm])}")
        print(f"guest {args.guest}, {args.mem_mib} MiB, 1 vCPU, {args.warmup} warm-up + "
              f"{args.iterations} measured boots each, alternating", flush=True)
        for i in range(args.warmup + args.iterations):
            measured = i >= args.warmup
            for vmm in vmms:
                label = f"{vmm} run {i - args.warmup + 1}" if measured else f"{vmm} warm-up"
                sample = boot_once(commands[vmm], mem_bytes, args.timeout, label)
                if measured:
                    results[vmm].append(sample)
            print(".", end="", flush=True)
        print()

    print_table(results, vmms)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args),
                       "samples": {v: [s.as_dict() for s in results[v]] for v in vmms}}, f, indent=1)
    if all(s.error for vmm in vmms for s in results[vmm]):
        sys.exit(1)


if __name__ == "__main__":
    main()
