#include "vmm/seccomp/builtin_filters.h"

#include <linux/fs.h>
#include <linux/futex.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <fcntl.h>

#include <csignal>
#include <cstdint>
#include <initializer_list>

#include "vmm/vcpu.h"

namespace ember::seccomp {
namespace {

// --- How the rows say what they allow ---------------------------------------------------------

struct Row {
  std::string_view syscall;
  std::vector<ArgCondition> args;
  std::string_view why;
};

// Argument `index` (a 32-bit one: a flag word, a request number, an int) equals `value`.
constexpr ArgCondition arg_is(uint8_t index, uint64_t value) {
  return {index, ArgWidth::kDword, CmpOp::kEq, value, 0};
}

// None of `bits` is set in argument `index`.
constexpr ArgCondition arg_lacks(uint8_t index, uint64_t bits) {
  return {index, ArgWidth::kDword, CmpOp::kMaskedEq, 0, bits};
}

// Argument `index` with `mask` applied equals `value`.
constexpr ArgCondition arg_masked(uint8_t index, uint64_t mask, uint64_t value) {
  return {index, ArgWidth::kDword, CmpOp::kMaskedEq, value, mask};
}

// The futex operation without its PRIVATE and CLOCK_REALTIME modifiers (FUTEX_CMD_MASK).
constexpr uint64_t kFutexCmdMask = ~static_cast<uint32_t>(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);

// ioctl(fd, request, ...) with this request.
Row ioctl_row(unsigned long request, std::string_view why) { return {"ioctl", {arg_is(1, request)}, why}; }

void append(std::vector<AllowedCall>* out, std::initializer_list<Row> rows) {
  for (const Row& r : rows)
    out->push_back({SyscallRule{std::string(r.syscall), r.args}, r.why});
}

// --- Every thread: what glibc and libstdc++ do on their own --------------------------------------

void add_runtime(std::vector<AllowedCall>* t) {
  append(t, {
      {"read", {}, "eventfds, timerfds, devices' host files; every thread reads something"},
      {"write", {}, "log lines, the console, eventfd signals (interrupts, wake-ups, exit)"},
      {"close", {}, "closing connections and files"},
      {"futex", {arg_masked(1, kFutexCmdMask, FUTEX_WAIT)}, "std::mutex, std::condition_variable, joins"},
      {"futex", {arg_masked(1, kFutexCmdMask, FUTEX_WAKE)}, "std::mutex, std::condition_variable, joins"},
      {"futex", {arg_masked(1, kFutexCmdMask, FUTEX_WAIT_BITSET)}, "glibc's condition variables and pthread_join"},
      {"futex", {arg_masked(1, kFutexCmdMask, FUTEX_WAKE_BITSET)}, "glibc's condition variables"},
      {"brk", {}, "malloc grows the main heap"},
      {"mmap", {arg_lacks(2, PROT_EXEC)}, "malloc's large blocks and per-thread arenas; never executable"},
      {"mprotect", {arg_lacks(2, PROT_EXEC)}, "malloc makes arena pages usable; never executable"},
      {"munmap", {}, "malloc returns memory"},
      {"mremap", {}, "realloc of large blocks"},
      {"madvise", {arg_is(2, MADV_DONTNEED)}, "malloc trims; glibc releases a finished thread's stack"},
      {"madvise", {arg_is(2, MADV_FREE)}, "malloc may free pages lazily"},
      {"rt_sigprocmask", {}, "glibc blocks signals around pthread_kill, thread exit and abort()"},
      {"rt_sigreturn", {}, "returning from the vCPU kick signal's handler"},
      {"restart_syscall", {}, "a call interrupted by a signal is restarted"},
      {"exit", {}, "a thread ends"},
      {"exit_group", {}, "the process ends"},
      {"clock_gettime", {}, "timestamps; the vDSO falls back to the call for some clocks"},
      {"clock_getres", {}, "std::chrono clocks"},
      {"gettimeofday", {}, "the vDSO's fallback"},
      {"clock_nanosleep", {}, "std::this_thread::sleep_for"},
      {"nanosleep", {}, "std::this_thread::sleep_for"},
      {"sched_yield", {}, "spin-then-yield in the runtime"},
      {"getrandom", {}, "the C++ runtime's random numbers; MMDS session tokens (VMM thread)"},
      {"getpid", {}, "glibc's pthread_kill and raise"},
      {"gettid", {}, "glibc's pthread_kill and raise"},
      {"tgkill", {arg_is(2, SIGABRT)}, "abort() after a broken invariant (CHECK)"},
  });
}

// --- The API thread: one Boost.Asio io_context serving HTTP on the Unix socket -------------------

void add_api(std::vector<AllowedCall>* t) {
  append(t, {
      {"epoll_wait", {}, "Asio's reactor"},
      {"epoll_pwait", {}, "Asio's reactor (glibc may use this form)"},
      {"epoll_ctl", {}, "Asio registers each connection"},
      {"accept", {}, "a new API connection"},
      {"accept4", {}, "a new API connection"},
      {"recvfrom", {}, "reading requests"},
      {"recvmsg", {}, "reading requests (Asio's socket reads)"},
      {"sendto", {}, "writing responses"},
      {"sendmsg", {}, "writing responses (Asio's socket writes)"},
      {"readv", {}, "reading requests"},
      {"writev", {}, "writing responses"},
      {"shutdown", {}, "closing a connection"},
      {"timerfd_settime", {}, "Asio's timers (the accept retry)"},
      ioctl_row(FIONBIO, "Asio makes each accepted socket non-blocking"),
      {"fcntl", {arg_is(1, F_GETFD)}, "marking an accepted socket close-on-exec"},
      {"fcntl", {arg_is(1, F_SETFD)}, "marking an accepted socket close-on-exec"},
      {"fcntl", {arg_is(1, F_GETFL)}, "Asio's non-blocking mode"},
      {"fcntl", {arg_is(1, F_SETFL)}, "Asio's non-blocking mode"},
  });
}

// --- vCPU threads: KVM_RUN and the port-I/O and MMIO exits it returns -------------------------

// The vCPU state a thread may read, for a snapshot of a paused vCPU (reading changes nothing).
void add_vcpu_state_getters(std::vector<AllowedCall>* t, std::string_view why) {
  append(t, {
      ioctl_row(KVM_GET_REGS, why),
      ioctl_row(KVM_GET_SREGS, why),
      ioctl_row(KVM_GET_FPU, why),
      ioctl_row(kvm_request::kGetXsave, why),
      ioctl_row(kvm_request::kGetXsave2, why),
      ioctl_row(KVM_GET_XCRS, why),
      ioctl_row(kvm_request::kGetMsrs, why),
      ioctl_row(KVM_GET_LAPIC, why),
      ioctl_row(KVM_GET_VCPU_EVENTS, why),
      ioctl_row(KVM_GET_MP_STATE, why),
      ioctl_row(KVM_GET_DEBUGREGS, why),
      ioctl_row(kvm_request::kGetCpuid2, why),
      ioctl_row(KVM_GET_TSC_KHZ, why),
      ioctl_row(KVM_KVMCLOCK_CTRL, why),
  });
}

void add_vcpu(std::vector<AllowedCall>* t) {
  append(t, {
      ioctl_row(KVM_RUN, "runs the guest"),
      // A virtio device is activated or reset by the guest's MMIO write, on the vCPU thread.
      ioctl_row(TUNSETOFFLOAD, "virtio-net activation tells the tap which offloads the guest took"),
      {"readv", {}, "virtio-net activation looks at the tap's pending frames"},
      {"writev", {}, "virtio-net activation sends frames the guest already queued"},
      {"epoll_ctl", {}, "virtio activation and reset watch or unwatch host fds"},
      {"timerfd_settime", {}, "virtio reset cancels rate-limiter and vsock timers"},
      {"io_uring_enter", {}, "virtio-block reset waits for the Async engine's requests"},
      {"shutdown", {}, "vsock reset closes the host connections"},
  });
  add_vcpu_state_getters(t, "the exit report (rip), and reading a parked vCPU's state");
}

// --- The VMM thread: the event loop that runs the built VM ------------------------------------

void add_vmm(std::vector<AllowedCall>* t) {
  append(t, {
      // The event loop and what it watches.
      {"epoll_wait", {}, "the event loop"},
      {"epoll_pwait", {}, "the event loop (glibc may use this form)"},
      {"epoll_ctl", {}, "devices watch and unwatch their host fds"},
      {"eventfd2", {}, "a completion eventfd for a drive's new io_uring"},
      {"timerfd_create", {}, "rate limiters and periodic metrics created at run time"},
      {"timerfd_settime", {}, "rate limiters, vsock and metrics timers"},
      {"timerfd_gettime", {}, "rate limiters"},
      {"tgkill", {arg_is(2, static_cast<uint64_t>(Vcpu::kick_signal()))}, "kicking a vCPU out of KVM_RUN (pause, stop)"},
      // Drives.
      {"readv", {}, "the tap, vsock sockets"},
      {"writev", {}, "the tap, vsock sockets"},
      {"pread64", {}, "drives, snapshot files"},
      {"pwrite64", {}, "drives, snapshot files"},
      {"preadv", {}, "the Sync block engine"},
      {"pwritev", {}, "the Sync block engine"},
      {"preadv2", {}, "glibc's preadv with flags"},
      {"pwritev2", {}, "glibc's pwritev with flags"},
      {"lseek", {}, "drive sizes, snapshot files"},
      {"fsync", {}, "block FLUSH, snapshot files"},
      {"fdatasync", {}, "block FLUSH"},
      {"io_uring_setup", {}, "an Async drive's ring when its backing file is replaced"},
      {"io_uring_enter", {}, "the Async block engine"},
      {"io_uring_register", {}, "the Async block engine's files and eventfd"},
      // Files: PATCH /drives (a new backing file), metrics, snapshots.
      {"openat", {}, "PATCH /drives, PUT /metrics, snapshot files"},
      {"fstat", {}, "sizes of drives and snapshot files"},
      {"newfstatat", {}, "glibc's stat, lstat and fstat; socket files"},
      {"statx", {}, "file sizes"},
      {"ftruncate", {}, "snapshot files"},
      {"mincore", {}, "the guest pages a full snapshot must read"},
      {"fallocate", {}, "snapshot files"},
      {"rename", {}, "a finished snapshot file takes its name"},
      {"renameat", {}, "a finished snapshot file takes its name"},
      {"renameat2", {}, "a finished snapshot file takes its name"},
      {"unlink", {}, "removing the API and vsock sockets at exit, snapshot temporaries"},
      {"unlinkat", {}, "removing snapshot temporaries"},
      {"msync", {}, "a snapshot's shared memory file"},
      {"madvise", {arg_is(2, MADV_DONTDUMP)}, "guest memory mapped for a snapshot restore"},
      {"madvise", {arg_is(2, MADV_WILLNEED)}, "guest memory mapped for a snapshot restore"},
      {"fcntl", {arg_is(1, F_GETFD)}, "close-on-exec"},
      {"fcntl", {arg_is(1, F_SETFD)}, "close-on-exec"},
      {"fcntl", {arg_is(1, F_GETFL)}, "non-blocking mode"},
      {"fcntl", {arg_is(1, F_SETFL)}, "non-blocking mode"},
      // vsock: Unix sockets only.
      {"socket", {arg_is(0, AF_UNIX)}, "vsock connects guest connections to <uds_path>_<port>"},
      {"connect", {}, "vsock connects guest connections to <uds_path>_<port>"},
      {"accept4", {}, "vsock accepts host connections on uds_path"},
      {"recvfrom", {}, "vsock reads the CONNECT line"},
      {"recvmsg", {}, "vsock"},
      {"sendto", {}, "vsock"},
      {"sendmsg", {}, "vsock sends to host connections"},
      {"shutdown", {}, "vsock half-closes host connections"},
      {"getsockopt", {}, "vsock checks a connection's error"},
      // ioctls on the tap, the terminal and block devices.
      ioctl_row(TUNSETOFFLOAD, "virtio-net (re)activation tells the tap the guest's offloads"),
      ioctl_row(TCGETS, "the console terminal"),
      ioctl_row(TCSETS, "restoring the console terminal when the VM ends"),
      ioctl_row(BLKGETSIZE64, "the size of a block device given to PATCH /drives"),
  });
  // KVM: the VM's and vCPUs' state for snapshots, dirty pages, memory slots.
  append(t, {
      ioctl_row(KVM_SET_REGS, "snapshot restore"),
      ioctl_row(KVM_SET_SREGS, "snapshot restore"),
      ioctl_row(KVM_SET_FPU, "snapshot restore"),
      ioctl_row(kvm_request::kSetXsave, "snapshot restore"),
      ioctl_row(KVM_SET_XCRS, "snapshot restore"),
      ioctl_row(kvm_request::kSetMsrs, "snapshot restore"),
      ioctl_row(KVM_SET_LAPIC, "snapshot restore"),
      ioctl_row(KVM_SET_VCPU_EVENTS, "snapshot restore"),
      ioctl_row(KVM_SET_MP_STATE, "snapshot restore"),
      ioctl_row(KVM_SET_DEBUGREGS, "snapshot restore"),
      ioctl_row(KVM_GET_IRQCHIP, "snapshot"),
      ioctl_row(KVM_SET_IRQCHIP, "snapshot restore"),
      ioctl_row(KVM_GET_PIT2, "snapshot"),
      ioctl_row(KVM_SET_PIT2, "snapshot restore"),
      ioctl_row(KVM_GET_CLOCK, "snapshot"),
      ioctl_row(KVM_SET_CLOCK, "snapshot restore"),
      ioctl_row(KVM_GET_DIRTY_LOG, "diff snapshots"),
      ioctl_row(kvm_request::kGetMsrIndexList, "the MSRs a snapshot saves, listed at the first one"),
      ioctl_row(KVM_SET_USER_MEMORY_REGION, "memory slots (dirty-page tracking, restore)"),
  });
  add_vcpu_state_getters(t, "snapshot of the paused vCPUs");
}

}  // namespace

std::vector<AllowedCall> builtin_allowlist(ThreadKind kind) {
  std::vector<AllowedCall> table;
  add_runtime(&table);
  switch (kind) {
    case ThreadKind::kVmm: add_vmm(&table); break;
    case ThreadKind::kApi: add_api(&table); break;
    case ThreadKind::kVcpu: add_vcpu(&table); break;
  }
  return table;
}

Filter builtin_filter(ThreadKind kind) {
  Filter f;
  f.default_action = {ActionKind::kKillProcess, 0};
  f.filter_action = {ActionKind::kAllow, 0};
  for (auto& row : builtin_allowlist(kind)) f.rules.push_back(std::move(row.rule));
  return f;
}

FilterSet builtin_filters() {
  return FilterSet{builtin_filter(ThreadKind::kVmm), builtin_filter(ThreadKind::kApi),
                   builtin_filter(ThreadKind::kVcpu)};
}

}  // namespace ember::seccomp
