// MSR values every vCPU starts with.
#pragma once

#include <linux/kvm.h>

#include <vector>

namespace ember {

// SYSENTER/SYSCALL MSRs cleared, TSC at 0, fast strings on, MTRRs enabled with write-back as
// the default type (a guest with MTRRs off would run uncached).
[[nodiscard]] std::vector<kvm_msr_entry> boot_msrs();

}  // namespace ember
