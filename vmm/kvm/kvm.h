// Thin RAII wrappers over the KVM ioctl API (Documentation/virt/kvm/api.rst): the system fd,
// a VM fd and vCPU fds. Each call returns a Result naming the ioctl that failed.
#pragma once

#include <linux/kvm.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "vmm/util/result.h"
#include "vmm/util/unique_fd.h"

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
  [[nodiscard]] Result<void> set_user_memory_region(uint32_t slot, uint64_t guest_addr,
                                                    uint64_t size, void* host) const;
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
  [[nodiscard]] Result<void> set_cpuid(const std::vector<kvm_cpuid_entry2>& entries) const;
  [[nodiscard]] Result<void> set_msrs(const std::vector<kvm_msr_entry>& entries) const;
  [[nodiscard]] Result<kvm_lapic_state> get_lapic() const;
  [[nodiscard]] Result<void> set_lapic(const kvm_lapic_state& l) const;

 private:
  friend class VmFd;
  VcpuFd(UniqueFd fd, uint32_t id, std::unique_ptr<KvmRunMapping> run)
      : fd_(std::move(fd)), id_(id), run_(std::move(run)) {}
  UniqueFd fd_;
  uint32_t id_;
  std::unique_ptr<KvmRunMapping> run_;
};

}  // namespace ember
