#include "vmm/x86_64/msrs.h"

#include <cstdint>

namespace ember {
namespace {
// Intel SDM vol. 4, model-specific registers.
constexpr uint32_t kMsrSysenterCs = 0x174;
constexpr uint32_t kMsrSysenterEsp = 0x175;
constexpr uint32_t kMsrSysenterEip = 0x176;
constexpr uint32_t kMsrStar = 0xc0000081;
constexpr uint32_t kMsrLstar = 0xc0000082;
constexpr uint32_t kMsrCstar = 0xc0000083;
constexpr uint32_t kMsrSyscallMask = 0xc0000084;
constexpr uint32_t kMsrKernelGsBase = 0xc0000102;
constexpr uint32_t kMsrTsc = 0x10;
constexpr uint32_t kMsrMiscEnable = 0x1a0;
constexpr uint32_t kMsrMtrrDefType = 0x2ff;
constexpr uint64_t kMiscEnableFastStrings = 1;
constexpr uint64_t kMtrrEnable = 1u << 11;
constexpr uint64_t kMtrrTypeWriteBack = 6;

kvm_msr_entry msr(uint32_t index, uint64_t value) {
  kvm_msr_entry e{};
  e.index = index;
  e.data = value;
  return e;
}
}  // namespace

std::vector<kvm_msr_entry> boot_msrs() {
  return {
      msr(kMsrSysenterCs, 0),   msr(kMsrSysenterEsp, 0), msr(kMsrSysenterEip, 0),
      msr(kMsrStar, 0),         msr(kMsrCstar, 0),       msr(kMsrKernelGsBase, 0),
      msr(kMsrSyscallMask, 0),  msr(kMsrLstar, 0),       msr(kMsrTsc, 0),
      msr(kMsrMiscEnable, kMiscEnableFastStrings),
      msr(kMsrMtrrDefType, kMtrrEnable | kMtrrTypeWriteBack),
  };
}

}  // namespace ember
