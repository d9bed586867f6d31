#!/usr/bin/env python3
"""Snapshot benchmark: ember's snapshot/restore against QEMU's migrate-to-file and -incoming,
on the same guest (tests/guests' counter, PVH entry), in one run.

The counter guest prints "count N" lines as fast as the serial port goes, N in guest memory, so
the first line after a restore marks the moment the guest runs again. For each guest memory
size (default 128 MiB, 1 GiB, 4 GiB):

  create      ember: PUT /snapshot/create (Full) on the paused VM, request to answer.
              QEMU: QMP `stop` + `migrate exec:cat>FILE` until query-migrate says completed.
  files       apparent size and blocks on disk of the memory file (ember) / migration stream (QEMU)
  load        ember: exec of a fresh ember -> API socket -> PUT /snapshot/load (resume_vm) ->
              first "count" line; also from the load request alone. QEMU: exec of
              `qemu -incoming exec:cat FILE` -> QMP `cont` once the migration is in -> first line.
  clones      N restored clones of the smallest snapshot at once: the sum of their proportional
              set sizes (PSS, /proc/<pid>/smaps_rollup) against N times one alone.

Medians over --iterations loads. Absolute times on a nested, software-assisted KVM say little;
compare the two VMMs side by side. Python 3 standard library only.

    cmake --build build --target ember ember_guests
    python3 benchmarks/snapshot_bench.py [--sizes 128,1024,4096] [--iterations 5] [--clones 10]
"""

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def now():
    return time.monotonic()


class Console:
    """Reads a child's stdout on a thread; remembers when a line starting with `marker` came."""

    def __init__(self, proc, marker=b"count "):
        self.proc = proc
        self.marker = marker
        self.lines = 0
        self.first_at = None
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in iter(self.proc.stdout.readline, b""):
            if line.startswith(self.marker) or (self.marker in line):
                with self.cond:
                    if self.first_at is None:
                        self.first_at = now()
                    self.lines += 1
                    self.cond.notify_all()

    def wait_lines(self, n, timeout):
        deadline = now() + timeout
        with self.cond:
            while self.lines < n:
                left = deadline - now()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True


def http(sock_path, method, path, body=None, timeout=60):
    """One HTTP/1.1 request over a Unix socket; returns (status, body)."""
    data = json.dumps(body).encode() if body is not None else b""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(sock_path)
    req = (f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
           f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode() + data
    s.sendall(req)
    resp = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        resp += chunk
    s.close()
    head, _, payload = resp.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head else 0
    return status, payload.decode(errors="replace")


def wait_for_socket(path, timeout=10):
    deadline = now() + timeout
    while now() < deadline:
        if os.path.exists(path):
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(path)
                s.close()
                return True
            except OSError:
                pass
        time.sleep(0.0005)
    return False


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def file_sizes(path):
    st = os.stat(path)
    return st.st_size, st.st_blocks * 512


def kill(proc):
    if proc.poll() is None:
        proc.kill()
    proc.wait()


# --- ember -----------------------------------------------------------------------------------


class Ember:
    started = 0

    def __init__(self, args, work, name):
        # A killed ember leaves its socket file behind: every process gets a name of its own.
        Ember.started += 1
        name = f"{name}-{Ember.started}"
        self.sock = os.path.join(work, name + ".sock")
        self.started = now()
        self.proc = subprocess.Popen([args.ember, "--api-sock", self.sock, "--id", name],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.console = Console(self.proc)
        if not wait_for_socket(self.sock):
            raise RuntimeError("ember's API socket did not appear")

    def call(self, method, path, body=None):
        status, text = http(self.sock, method, path, body)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {text}")
        return text


def ember_snapshot(args, work, mib):
    vm = Ember(args, work, f"src{mib}")
    try:
        vm.call("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": mib})
        vm.call("PUT", "/boot-source", {"kernel_image_path": args.guest})
        vm.call("PUT", "/actions", {"action_type": "InstanceStart"})
        if not vm.console.wait_lines(1000, 30):
            raise RuntimeError("the counter guest did not count")
        vm.call("PATCH", "/vm", {"state": "Paused"})
        state, mem = os.path.join(work, f"ember{mib}.state"), os.path.join(work, f"ember{mib}.mem")
        t0 = now()
        vm.call("PUT", "/snapshot/create", {"snapshot_type": "Full", "snapshot_path": state,
                                            "mem_file_path": mem})
        create_ms = (now() - t0) * 1000
    finally:
        kill(vm.proc)
    return state, mem, create_ms


def ember_load(args, work, state, mem, name):
    """Returns (exec->running ms, request->running ms, the Ember) with the clone still running."""
    t_exec = now()
    vm = Ember(args, work, name)
    t_req = now()
    vm.call("PUT", "/snapshot/load", {"snapshot_path": state,
                                      "mem_backend": {"backend_type": "File", "backend_path": mem},
                                      "resume_vm": True})
    if not vm.console.wait_lines(1, 10):
        kill(vm.proc)
        raise RuntimeError("the restored guest printed nothing")
    return (vm.console.first_at - t_exec) * 1000, (vm.console.first_at - t_req) * 1000, vm


# --- QEMU ------------------------------------------------------------------------------------


class Qmp:
    def __init__(self, path, timeout=30):
        deadline = now() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                if now() > deadline:
                    raise
                time.sleep(0.001)
        self.file = self.sock.makefile("rwb")
        self._read()  # greeting
        self.command("qmp_capabilities")

    def _read(self):
        while True:
            msg = json.loads(self.file.readline())
            if "event" not in msg:
                return msg

    def command(self, name, **arguments):
        cmd = {"execute": name}
        if arguments:
            cmd["arguments"] = arguments
        self.file.write(json.dumps(cmd).encode() + b"\n")
        self.file.flush()
        reply = self._read()
        if "error" in reply:
            raise RuntimeError(f"QMP {name}: {reply['error']}")
        return reply.get("return")


def qemu_command(args, mib, qmp, incoming=None):
    # QEMU's default CPU model: "-cpu host" aborts on some nested KVM hosts (MSR 0x10a).
    cmd = [args.qemu, "-M", "microvm", "-accel", "kvm", "-m", str(mib),
           "-smp", "1", "-nodefaults", "-no-user-config", "-nographic", "-serial", "stdio",
           "-no-reboot", "-kernel", args.guest, "-qmp", f"unix:{qmp},server=on,wait=off"]
    if incoming:
        cmd += ["-incoming", f"exec:cat {incoming}"]
    return cmd


def qemu_snapshot(args, work, mib):
    qmp_path = os.path.join(work, f"qsrc{mib}.qmp")
    proc = subprocess.Popen(qemu_command(args, mib, qmp_path), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        console = Console(proc)
        if not console.wait_lines(1000, 30):
            raise RuntimeError("the counter guest did not count under QEMU")
        qmp = Qmp(qmp_path)
        out = os.path.join(work, f"qemu{mib}.mig")
        t0 = now()
        qmp.command("stop")
        qmp.command("migrate", uri=f"exec:cat > {out}")
        while True:
            status = qmp.command("query-migrate").get("status")
            if status == "completed":
                break
            if status in ("failed", "cancelled"):
                raise RuntimeError(f"QEMU migration {status}")
            time.sleep(0.001)
        return out, (now() - t0) * 1000
    finally:
        kill(proc)


def qemu_load(args, work, mib, stream, name):
    qmp_path = os.path.join(work, name + ".qmp")
    t_exec = now()
    proc = subprocess.Popen(qemu_command(args, mib, qmp_path, incoming=stream),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    console = Console(proc)
    qmp = Qmp(qmp_path)
    while qmp.command("query-status").get("status") not in ("paused", "postmigrate", "prelaunch", "running"):
        time.sleep(0.0005)
    while qmp.command("query-migrate").get("status") not in ("completed", None):
        time.sleep(0.0005)
    # The source was stopped before migrating, so the destination waits for `cont`.
    qmp.command("cont")
    if not console.wait_lines(1, 10):
        kill(proc)
        raise RuntimeError("QEMU's restored guest printed nothing")
    return (console.first_at - t_exec) * 1000, proc


# --- the run ---------------------------------------------------------------------------------


def median(xs):
    return statistics.median(xs) if xs else None


def fmt(v, unit="ms"):
    return "n/a" if v is None else f"{v:.1f} {unit}"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ember", default=os.path.join(REPO, "build", "bin", "ember"))
    p.add_argument("--guest", default=os.path.join(REPO, "build", "guests", "counter.elf"))
    p.add_argument("--qemu", default="qemu-system-x86_64")
    p.add_argument("--sizes", default="128,1024,4096", help="guest memory sizes in MiB")
    p.add_argument("--iterations", type=int, default=5, help="loads per size and VMM")
    p.add_argument("--clones", type=int, default=10)
    p.add_argument("--no-qemu", action="store_true")
    p.add_argument("--json", help="write every figure here")
    args = p.parse_args()
    args.guest = os.path.abspath(args.guest)
    use_qemu = not args.no_qemu and shutil.which(args.qemu) is not None
    if not use_qemu and not args.no_qemu:
        print(f"note: {args.qemu} not found: ember only", file=sys.stderr)
    sizes = [int(s) for s in args.sizes.split(",")]
    results = {"sizes": {}, "clones": {}}

    with tempfile.TemporaryDirectory(prefix="ember-snapshot-bench-") as work:
        for mib in sizes:
            r = {}
            state, mem, create_ms = ember_snapshot(args, work, mib)
            r["ember"] = {"create_ms": create_ms, "state_bytes": os.path.getsize(state),
                          "mem_apparent_bytes": file_sizes(mem)[0], "mem_disk_bytes": file_sizes(mem)[1]}
            execs, reqs = [], []
            for i in range(args.iterations):
                e, q, vm = ember_load(args, work, state, mem, f"load{mib}-{i}")
                kill(vm.proc)
                execs.append(e)
                reqs.append(q)
            r["ember"].update(load_exec_ms=median(execs), load_request_ms=median(reqs))
            if use_qemu:
                stream, qcreate = qemu_snapshot(args, work, mib)
                r["qemu"] = {"create_ms": qcreate, "mem_apparent_bytes": file_sizes(stream)[0],
                             "mem_disk_bytes": file_sizes(stream)[1]}
                qexecs = []
                for i in range(args.iterations):
                    e, proc = qemu_load(args, work, mib, stream, f"qload{mib}-{i}")
                    kill(proc)
                    qexecs.append(e)
                r["qemu"]["load_exec_ms"] = median(qexecs)
                os.unlink(stream)
            os.unlink(mem)
            results["sizes"][mib] = r

        # Clones of the smallest size.
        mib = sizes[0]
        state, mem, _ = ember_snapshot(args, work, mib)
        _, _, one = ember_load(args, work, state, mem, "alone")
        time.sleep(0.5)
        alone = pss_kib(one.proc.pid)
        kill(one.proc)
        clones = [ember_load(args, work, state, mem, f"clone{i}")[2] for i in range(args.clones)]
        time.sleep(0.5)
        total = sum(pss_kib(c.proc.pid) or 0 for c in clones)
        for c in clones:
            kill(c.proc)
        results["clones"]["ember"] = {"n": args.clones, "pss_sum_kib": total, "one_alone_kib": alone}
        if use_qemu:
            stream, _ = qemu_snapshot(args, work, mib)
            _, proc = qemu_load(args, work, mib, stream, "qalone")
            time.sleep(0.5)
            qalone = pss_kib(proc.pid)
            kill(proc)
            procs = [qemu_load(args, work, mib, stream, f"qclone{i}")[1] for i in range(args.clones)]
            time.sleep(0.5)
            qtotal = sum(pss_kib(p.pid) or 0 for p in procs)
            for p in procs:
                kill(p)
            results["clones"]["qemu"] = {"n": args.clones, "pss_sum_kib": qtotal, "one_alone_kib": qalone}

    print(f"snapshot benchmark: counter guest, 1 vCPU, medians of {args.iterations} loads")
    for mib, r in results["sizes"].items():
        e, q = r["ember"], r.get("qemu")
        print(f"\n{mib} MiB guest")
        print(f"  create (paused VM -> files written)   ember {fmt(e['create_ms'])}"
              + (f"   qemu {fmt(q['create_ms'])}" if q else ""))
        print(f"  memory file apparent / on disk        ember {e['mem_apparent_bytes'] >> 20} MiB / "
              f"{e['mem_disk_bytes'] >> 10} KiB" + (f"   qemu {q['mem_apparent_bytes'] >> 10} KiB / "
                                                    f"{q['mem_disk_bytes'] >> 10} KiB" if q else ""))
        print(f"  state file                            ember {e['state_bytes']} bytes")
        print(f"  exec -> guest running again           ember {fmt(e['load_exec_ms'])}"
              + (f"   qemu {fmt(q['load_exec_ms'])}   ratio {e['load_exec_ms'] / q['load_exec_ms']:.2f}" if q else ""))
        print(f"  load request -> guest running again   ember {fmt(e['load_request_ms'])}")
    c = results["clones"]
    print(f"\n{c['ember']['n']} clones of the {sizes[0]} MiB snapshot, PSS summed:")
    print(f"  ember {c['ember']['pss_sum_kib']} KiB (one alone {c['ember']['one_alone_kib']} KiB)")
    if "qemu" in c:
        print(f"  qemu  {c['qemu']['pss_sum_kib']} KiB (one alone {c['qemu']['one_alone_kib']} KiB)"
              f"   ratio {c['ember']['pss_sum_kib'] / max(1, c['qemu']['pss_sum_kib']):.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
