// The filters ember installs by default, one per thread kind: an allowlist of the system calls
// (and, where it matters, the arguments) that kind of thread makes, killing the process on
// anything else. The tables, and why each entry is there, are in builtin_filters.cc; what each
// thread may do is summed up in vmm/seccomp/README.md.
#pragma once

#include <linux/ioctl.h>

#include <string_view>
#include <vector>

#include "vmm/seccomp/filter.h"

namespace ember::seccomp {

// One row of a table: a rule and the reason the thread needs it.
struct AllowedCall {
  SyscallRule rule;
  std::string_view why;
};

// The rows of `kind`'s allowlist: the calls every thread makes (the C and C++ runtimes), then
// that kind's own.
[[nodiscard]] std::vector<AllowedCall> builtin_allowlist(ThreadKind kind);

// The built-in filter of `kind`: kill the process unless a row allows the call.
[[nodiscard]] Filter builtin_filter(ThreadKind kind);
[[nodiscard]] FilterSet builtin_filters();

// The request numbers of the KVM ioctls whose argument structure ends in a flexible array.
// Seen from C++, <linux/kvm.h> gives those structures a different size (the empty struct in
// __DECLARE_FLEX_ARRAY takes room), and the size is part of the request number; these are the
// numbers the kernel (C) knows.
namespace kvm_request {
inline constexpr unsigned kKvmIo = 0xAE;  // KVMIO
inline constexpr unsigned long kGetMsrs = _IOC(_IOC_READ | _IOC_WRITE, kKvmIo, 0x88, 8);  // struct kvm_msrs
inline constexpr unsigned long kSetMsrs = _IOC(_IOC_WRITE, kKvmIo, 0x89, 8);
inline constexpr unsigned long kGetCpuid2 = _IOC(_IOC_READ | _IOC_WRITE, kKvmIo, 0x91, 8);  // struct kvm_cpuid2
inline constexpr unsigned long kGetMsrIndexList = _IOC(_IOC_READ | _IOC_WRITE, kKvmIo, 0x02, 4);  // struct kvm_msr_list
inline constexpr unsigned long kGetXsave = _IOC(_IOC_READ, kKvmIo, 0xa4, 4096);  // struct kvm_xsave
inline constexpr unsigned long kSetXsave = _IOC(_IOC_WRITE, kKvmIo, 0xa5, 4096);
inline constexpr unsigned long kGetXsave2 = _IOC(_IOC_READ, kKvmIo, 0xcf, 4096);
}  // namespace kvm_request

}  // namespace ember::seccomp
