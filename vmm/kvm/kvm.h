// Thin RAII wrappers over the KVM ioctl API (Documentation/virt/kvm/api.rst): the system fd,
// a VM fd and vCPU fds. Each call returns a Result naming the ioctl that failed.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"

namespace ember {

class VcpuFd;
class VmFd;

class Kvm {
 public:
  [[nodiscard]] static Result<Kvm> open(const char* path = "/dev/kvm");
  [[nodiscard]] int fd() const { return fd_.get(); }
  [[nodiscard]] Result<int> check_extension(int cap) const;
  [[nodiscard]] Result<std::vector<kvm_cpuid_entry2>> supported_cpuid() const;
  [[nodiscard]] Result<std::vector<uint32_t>> msr_index_list() const;
  [[nodiscard]] Result<VmFd> create_vm() const;

 private:
  explicit Kvm(UniqueFd fd, int run_size) : fd_(std::move(fd)), run_size_(run_size) {}
  UniqueFd fd_;
  int run_size_;
};

class VmFd {
 public:
  [[nodiscard]] int fd() const { return fd_.get(); }
  [[nodiscard]] Result<void> set_tss_addr(uint64_t addr) const;
  [[nodiscard]] Result<void> set_identity_map_addr(uint64_t addr) const;
  [[nodiscard]] Result<void> create_irqchip() const;
  [[nodiscard]] Result<void> create_pit2() const;
  // `log_dirty`: KVM records the pages the guest writes (KVM_MEM_LOG_DIRTY_PAGES).
  [[nodiscard]] Result<void> set_user_memory_region(uint32_t slot, uint64_t guest_addr,
                                                    uint64_t size, void* host,
                                                    bool log_dirty = false) const;
  // The pages of `slot` written since the previous call (one bit per 4 KiB page, `pages` bits),
  // and clears them.
  [[nodiscard]] Result<std::vector<uint64_t>> get_dirty_log(uint32_t slot, uint64_t pages) const;
  // In-kernel device state for snapshots. `chip`: KVM_IRQCHIP_PIC_MASTER, _PIC_SLAVE, _IOAPIC.
  [[nodiscard]] Result<kvm_irqchip> get_irqchip(uint32_t chip) const;
  [[nodiscard]] Result<void> set_irqchip(const kvm_irqchip& chip) const;
  [[nodiscard]] Result<kvm_pit_state2> get_pit2() const;
  [[nodiscard]] Result<void> set_pit2(const kvm_pit_state2& pit) const;
  [[nodiscard]] Result<kvm_clock_data> get_clock() const;
  [[nodiscard]] Result<void> set_clock(const kvm_clock_data& clock) const;
  // KVM_CHECK_EXTENSION on the VM (some answers, e.g. KVM_CAP_XSAVE2's size, are per VM).
  [[nodiscard]] Result<int> check_extension(int cap) const;
  [[nodiscard]] Result<void> register_irqfd(int event_fd, uint32_t gsi) const;
  // Without datamatch when `datamatch` is empty; the address is an MMIO address unless `pio`.
  [[nodiscard]] Result<void> register_ioeventfd(int event_fd, uint64_t addr, uint32_t len,
                                                bool pio, const uint64_t* datamatch) const;
  [[nodiscard]] Result<VcpuFd> create_vcpu(uint32_t id) const;

 private:
  friend class Kvm;
  VmFd(UniqueFd fd, int run_size) : fd_(std::move(fd)), run_size_(run_size) {}
  UniqueFd fd_;
  int run_size_;
};

// The kvm_run area shared with the kernel, unmapped on destruction.
class KvmRunMapping {
 public:
  KvmRunMapping(kvm_run* run, size_t size) : run_(run), size_(size) {}
  KvmRunMapping(const KvmRunMapping&) = delete;
  KvmRunMapping& operator=(const KvmRunMapping&) = delete;
  ~KvmRunMapping();
  [[nodiscard]] kvm_run* get() const { return run_; }

 private:
  kvm_run* run_;
  size_t size_;
};

class VcpuFd {
 public:
  [[nodiscard]] int fd() const { return fd_.get(); }
  [[nodiscard]] uint32_t id() const { return id_; }
  [[nodiscard]] kvm_run* run_area() const { return run_->get(); }

  // Enters the guest. Returns 0 on an exit to handle, or -errno (EINTR, EAGAIN, ...).
  [[nodiscard]] int run() const;

  [[nodiscard]] Result<kvm_regs> get_regs() const;
  [[nodiscard]] Result<void> set_regs(const kvm_regs& r) const;
  [[nodiscard]] Result<kvm_sregs> get_sregs() const;
  [[nodiscard]] Result<void> set_sregs(const kvm_sregs& s) const;
  [[nodiscard]] Result<void> set_fpu(const kvm_fpu& f) const;
  [[nodiscard]] Result<std::vector<kvm_cpuid_entry2>> get_cpuid() const;
  [[nodiscard]] Result<void> set_cpuid(const std::vector<kvm_cpuid_entry2>& entries) const;
  // Reads the MSRs of `indices` that KVM can read; the ones it refuses are left out.
  [[nodiscard]] Result<std::vector<kvm_msr_entry>> get_msrs(const std::vector<uint32_t>& indices) const;
  [[nodiscard]] Result<void> set_msrs(const std::vector<kvm_msr_entry>& entries) const;
  [[nodiscard]] Result<kvm_lapic_state> get_lapic() const;
  [[nodiscard]] Result<void> set_lapic(const kvm_lapic_state& l) const;
  // The XSAVE area, `size` bytes (4096, or KVM_CAP_XSAVE2's answer when larger).
  [[nodiscard]] Result<std::vector<uint8_t>> get_xsave(size_t size) const;
  [[nodiscard]] Result<void> set_xsave(const std::vector<uint8_t>& area) const;
  [[nodiscard]] Result<kvm_xcrs> get_xcrs() const;
  [[nodiscard]] Result<void> set_xcrs(const kvm_xcrs& x) const;
  [[nodiscard]] Result<kvm_vcpu_events> get_vcpu_events() const;
  [[nodiscard]] Result<void> set_vcpu_events(const kvm_vcpu_events& e) const;
  [[nodiscard]] Result<kvm_mp_state> get_mp_state() const;
  [[nodiscard]] Result<void> set_mp_state(const kvm_mp_state& m) const;
  [[nodiscard]] Result<kvm_debugregs> get_debugregs() const;
  [[nodiscard]] Result<void> set_debugregs(const kvm_debugregs& d) const;
  // Tells a guest using kvmclock that it was paused, so its watchdogs do not fire on resume.
  // Fails (harmlessly) when the guest has not enabled kvmclock.
  [[nodiscard]] Result<void> kvmclock_ctrl() const;

 private:
  friend class VmFd;
  VcpuFd(UniqueFd fd, uint32_t id, std::unique_ptr<KvmRunMapping> run)
      : fd_(std::move(fd)), id_(id), run_(std::move(run)) {}
  UniqueFd fd_;
  uint32_t id_;
  std::unique_ptr<KvmRunMapping> run_;
};

}  // namespace ember
