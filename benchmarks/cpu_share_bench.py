#!/usr/bin/env python3
"""CPU shares through ember-jailer: two jailed embers on one CPU, weighted 70/30 (by default).

Each ember runs tests/guests' ticker guest (1 vCPU that busy-waits between its serial lines, so
it always wants the CPU) in its own jail made by ember-jailer. Both are pinned to the same CPU
with the cgroup setting cpuset.cpus=<cpu> and weighted with cpu.shares (cgroup v1: weight x 10,
so 700/300) or cpu.weight (cgroup v2: 70/30). After a warm-up the script samples each ember's
CPU time (utime + stime of all its threads, /proc/<pid>/stat) over --seconds and prints how the
CPU was split. Figures only: nothing is asserted.

Needs root (the jailer does). Python 3 standard library only. See README.md next to this file.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def default_build_path(*parts):
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return os.path.join(repo, "build", *parts)


def cgroup_mounts():
    """(v1 controller -> mount point, cgroup2 mount point or None) from /proc/mounts."""
    v1, v2 = {}, None
    with open("/proc/mounts") as mounts:
        for line in mounts:
            fields = line.split()
            if len(fields) < 4:
                continue
            if fields[2] == "cgroup2" and v2 is None:
                v2 = fields[1]
            elif fields[2] == "cgroup":
                for option in fields[3].split(","):
                    v1.setdefault(option, fields[1])
    return v1, v2


def pick_cgroup_version(wanted, v1, v2):
    v2_controllers = []
    if v2:
        with open(os.path.join(v2, "cgroup.controllers")) as f:
            v2_controllers = f.read().split()
    v2_ok = v2 is not None and "cpu" in v2_controllers and "cpuset" in v2_controllers
    v1_ok = "cpu" in v1 and "cpuset" in v1
    if wanted == "2" or (wanted == "auto" and v2_ok):
        if not v2_ok:
            sys.exit(f"cgroup v2 at {v2} lacks the cpu and cpuset controllers (it has: {' '.join(v2_controllers) or 'none'})")
        return "2"
    if not v1_ok:
        sys.exit("neither cgroup v2 nor v1 offers both the cpu and cpuset controllers here")
    return "1"


def cpu_seconds(pid):
    """utime + stime of every thread of `pid`, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()
    # Fields 14 and 15 of proc(5) are utime and stime; fields[0] here is field 3 (state).
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}")


class JailedVm:
    def __init__(self, args, base, name, weight, version, parent_cgroup):
        self.name = name
        self.weight = weight
        self.id = f"cpushare-{name}-{os.getpid()}"
        exec_name = os.path.basename(os.path.realpath(args.ember))  # as the jailer names it
        root = os.path.join(base, exec_name, self.id, "root")
        os.makedirs(root)
        shutil.copy(args.guest, os.path.join(root, "guest.elf"))
        with open(os.path.join(root, "vm.json"), "w") as f:
            json.dump({"boot-source": {"kernel_image_path": "/guest.elf", "boot_args": "console=ttyS0"},
                       "machine-config": {"vcpu_count": 1, "mem_size_mib": 64}}, f)
        share = f"cpu.shares={weight * 10}" if version == "1" else f"cpu.weight={weight}"
        self.command = [args.jailer, "--id", self.id, "--exec-file", args.ember,
                        "--uid", str(args.uid), "--gid", str(args.gid), "--chroot-base-dir", base,
                        "--cgroup-version", version, "--parent-cgroup", parent_cgroup,
                        "--cgroup", f"cpuset.cpus={args.cpu}", "--cgroup", share,
                        "--", "--no-api", "--config-file", "/vm.json"]
        self.out_path = os.path.join(base, f"{name}.out")
        self.err_path = os.path.join(base, f"{name}.err")
        self.process = None

    def start(self):
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=out, stderr=err)

    def ticking(self):
        if self.process.poll() is not None:
            with open(self.err_path) as f:
                raise RuntimeError(f"VM {self.name} ended early ({self.process.returncode}): {f.read().strip()}")
        with open(self.out_path, "rb") as f:
            return b"tick 1\n" in f.read()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def remove_cgroups(v1, v2, version, parent_cgroup, ids):
    roots = {v1[c] for c in ("cpu", "cpuset") if c in v1} if version == "1" else {v2}
    for root in roots:
        parent = os.path.join(root, parent_cgroup)
        for vm_id in ids:
            path = os.path.join(parent, vm_id)
            for _ in range(200):  # a just-stopped process may take a moment to leave
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
        try:
            os.rmdir(parent)
        except OSError:
            pass


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jailer", default=default_build_path("bin", "ember-jailer"))
    parser.add_argument("--ember", default=default_build_path("bin", "ember-static"),
                        help="a statically linked ember (the jail holds no shared libraries)")
    parser.add_argument("--guest", default=default_build_path("guests", "ticker.elf"))
    parser.add_argument("--seconds", type=float, default=10.0, help="measured interval (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring (default 2)")
    parser.add_argument("--cpu", type=int, default=0, help="the CPU both VMs share (default 0)")
    parser.add_argument("--weights", default="70,30", help="relative weights of the two VMs (default 70,30)")
    parser.add_argument("--cgroup-version", choices=["auto", "1", "2"], default="auto")
    parser.add_argument("--uid", type=int, default=12345)
    parser.add_argument("--gid", type=int, default=12345)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()

    if os.geteuid() != 0:
        sys.exit("cpu_share_bench.py needs root (ember-jailer makes chroots, cgroups and device nodes)")
    for path in (args.jailer, args.ember, args.guest):
        if not os.path.exists(path):
            sys.exit(f"{path} does not exist: build it first (cmake --build build --target ember-jailer ember-static ember_guests)")
    weights = [int(w) for w in args.weights.split(",")]
    if len(weights) != 2 or min(weights) < 1 or max(weights) > 1000:
        sys.exit("--weights takes two numbers from 1 to 1000, e.g. 70,30")

    v1, v2 = cgroup_mounts()
    version = pick_cgroup_version(args.cgroup_version, v1, v2)
    parent_cgroup = f"ember-cpu-share-{os.getpid()}"
    base = tempfile.mkdtemp(prefix="ember-cpu-share-")
    os.chmod(base, 0o755)
    vms = [JailedVm(args, base, name, w, version, parent_cgroup) for name, w in zip(("a", "b"), weights)]
    try:
        for vm in vms:
            vm.start()
        for vm in vms:
            wait_for(vm.ticking, 30, f"VM {vm.name} to boot")
        time.sleep(args.warmup)
        start_cpu = [cpu_seconds(vm.process.pid) for vm in vms]
        start = time.monotonic()
        time.sleep(args.seconds)
        end_cpu = [cpu_seconds(vm.process.pid) for vm in vms]
        wall = time.monotonic() - start
        for vm in vms:
            if vm.process.poll() is not None:
                raise RuntimeError(f"VM {vm.name} ended during the measurement")
    finally:
        for vm in vms:
            vm.stop()
        remove_cgroups(v1, v2, version, parent_cgroup, [vm.id for vm in vms])
        shutil.rmtree(base, ignore_errors=True)

    used = [e - s for s, e in zip(start_cpu, end_cpu)]
    total = sum(used)
    setting = "cpu.shares" if version == "1" else "cpu.weight"
    print(f"cgroup v{version}, both VMs on CPU {args.cpu} (cpuset.cpus={args.cpu}), {wall:.1f} s measured")
    print(f"{'VM':<4} {setting:>11} {'CPU s':>8} {'% of CPU':>9} {'share':>7} {'expected':>9}")
    figures = {"cgroup_version": int(version), "cpu": args.cpu, "seconds": wall, "vms": []}
    for vm, cpu in zip(vms, used):
        value = vm.weight * 10 if version == "1" else vm.weight
        share = cpu / total if total > 0 else 0.0
        expected = vm.weight / sum(weights)
        print(f"{vm.name:<4} {value:>11} {cpu:>8.2f} {100 * cpu / wall:>8.1f}% {100 * share:>6.1f}% {100 * expected:>8.1f}%")
        figures["vms"].append({"name": vm.name, setting: value, "cpu_seconds": cpu, "share": share,
                               "expected_share": expected})
    print(f"both {'':>11} {total:>8.2f} {100 * total / wall:>8.1f}%")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
