#!/usr/bin/env python3
"""Boots one PVH test guest in QEMU's microvm machine and checks its serial output.

This checks the guests themselves (their PVH entry, ACPI parsing, SMP start-up, exits) against a
second, independent VMM, so a failure in ember's KVM tests can be told apart from a broken guest.

Exit status: 0 pass, 1 fail, 77 skipped (QEMU or /dev/kvm not available; the reason is printed).

Example:
  qemu_boot_test.py --guest build/guests/smp.elf --smp 2 \
      --expect "cpu 0 online" --expect "cpu 1 online" --expect "smp: 2 cpus online"
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

SKIP = 77


def qemu_command(args):
    # microvm with its defaults (ACPI on: the guests find the MADT and the FADT reset register,
    # since microvm has no i8042). -no-reboot turns a reset or a triple fault into an exit.
    cmd = [args.qemu, "-M", "microvm", "-accel", args.accel, "-m", "128", "-smp", str(args.smp),
           "-nographic", "-nodefaults", "-no-user-config", "-serial", "stdio", "-no-reboot",
           "-kernel", args.guest]
    # QEMU's default CPU model: "-cpu host" and "-cpu max" abort on some nested KVM hosts (they set
    # MSR 0x10a, IA32_ARCH_CAPABILITIES, which the host refuses), and the guests need nothing more.
    return cmd


def run(args):
    qemu = shutil.which(args.qemu)
    if qemu is None:
        print(f"SKIP: {args.qemu} not found", flush=True)
        return SKIP
    if args.accel == "kvm" and not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("SKIP: /dev/kvm is missing or not accessible", flush=True)
        return SKIP
    if not os.path.isfile(args.guest):
        print(f"FAIL: guest {args.guest} does not exist (build the ember_guests target)")
        return 1

    cmd = qemu_command(args)
    print("running:", " ".join(cmd), flush=True)
    start = time.monotonic()
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    output = b""
    exited = False
    try:
        if args.until:
            # The guest idles forever after its last line: read until it appears, then stop QEMU.
            os.set_blocking(proc.stdout.fileno(), False)
            deadline = start + args.timeout
            while args.until.encode() not in output and time.monotonic() < deadline:
                chunk = proc.stdout.read()
                if chunk:
                    output += chunk
                elif proc.poll() is not None:
                    break
                else:
                    time.sleep(0.01)
        else:
            output, _ = proc.communicate(timeout=args.timeout)
            exited = True
    except subprocess.TimeoutExpired:
        pass
    finally:
        if proc.poll() is None:
            proc.kill()
        rest, _ = proc.communicate()
        output += rest or b""

    text = output.decode(errors="replace")
    print(f"--- serial output ({time.monotonic() - start:.2f} s) ---\n{text}--- end ---")
    lines = text.splitlines()
    failures = []
    position = 0
    for expected in args.expect:
        # Expected lines must appear in the given order (other lines may come between them).
        try:
            position = lines.index(expected, position) + 1
        except ValueError:
            failures.append(f"missing line (in order): {expected!r}")
    for unexpected in args.reject:
        if unexpected in text:
            failures.append(f"unexpected output: {unexpected!r}")
    if not args.until:
        if not exited:
            failures.append(f"QEMU did not exit within {args.timeout} s")
        elif proc.returncode != 0:
            failures.append(f"QEMU exited with status {proc.returncode}")
    elif args.until not in text:
        failures.append(f"{args.until!r} did not appear within {args.timeout} s")

    for failure in failures:
        print("FAIL:", failure)
    if not failures:
        print("PASS")
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--guest", required=True, help="PVH guest ELF (<name>.elf)")
    parser.add_argument("--qemu", default="qemu-system-x86_64")
    parser.add_argument("--accel", choices=["tcg", "kvm"], default="tcg")
    parser.add_argument("--smp", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--expect", action="append", default=[], help="an exact output line")
    parser.add_argument("--reject", action="append", default=[], help="text that must not appear")
    parser.add_argument("--until", help="stop QEMU once this text appears (for guests that idle)")
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
