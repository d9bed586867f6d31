#include "vmm/kvm/kvm.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "base/errno_error.h"

namespace ember {
namespace {

// Headers of the flexible-array ioctl structures (kvm_cpuid2, kvm_msrs, kvm_msr_list), as the
// kernel lays them out. The uapi headers declare the arrays with __DECLARE_FLEX_ARRAY, which
// in C++ adds a byte-sized member and makes the struct (and so the entries' offset and the
// ioctl number, which encodes the size) wrong; these are the C layouts.
struct CpuidHeader {
  uint32_t nent;
  uint32_t padding;
};
struct MsrsHeader {
  uint32_t nmsrs;
  uint32_t pad;
};
struct MsrListHeader {
  uint32_t nmsrs;
};
static_assert(sizeof(CpuidHeader) == 8 && sizeof(MsrsHeader) == 8 && sizeof(MsrListHeader) == 4);
constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CpuidHeader);
constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CpuidHeader);
constexpr unsigned long kGetMsrIndexList = _IOWR(KVMIO, 0x02, MsrListHeader);
constexpr unsigned long kSetMsrs = _IOW(KVMIO, 0x89, MsrsHeader);
constexpr unsigned long kGetMsrs = _IOWR(KVMIO, 0x88, MsrsHeader);
constexpr unsigned long kGetCpuid2 = _IOWR(KVMIO, 0x91, CpuidHeader);
// kvm_xsave's fixed part (the legacy 4 KiB area); the ioctl numbers encode its size.
struct XsaveArea {
  uint32_t region[1024];
};
static_assert(sizeof(XsaveArea) == 4096);
constexpr size_t kLegacyXsaveSize = sizeof(XsaveArea);
constexpr unsigned long kGetXsave = _IOR(KVMIO, 0xa4, XsaveArea);
constexpr unsigned long kSetXsave = _IOW(KVMIO, 0xa5, XsaveArea);
constexpr unsigned long kGetXsave2 = _IOR(KVMIO, 0xcf, XsaveArea);

// A flexible-array ioctl buffer owned by a vector of 8-byte words, so it is suitably aligned
// and freed automatically.
template <class Header, class Entry>
class FlexBuffer {
 public:
  explicit FlexBuffer(size_t n)
      : words_((sizeof(Header) + n * sizeof(Entry) + 7) / 8, 0) {}
  Header* header() { return reinterpret_cast<Header*>(words_.data()); }
  Entry* entries() {
    return reinterpret_cast<Entry*>(reinterpret_cast<uint8_t*>(words_.data()) + sizeof(Header));
  }

 private:
  std::vector<uint64_t> words_;
};

// KVM_GET_SUPPORTED_CPUID and KVM_GET_CPUID2: the kernel answers E2BIG while the buffer is too
// small.
Result<std::vector<kvm_cpuid_entry2>> get_cpuid_entries(int fd, unsigned long req, const char* name) {
  for (size_t n = 64; n <= 4096; n *= 2) {
    FlexBuffer<CpuidHeader, kvm_cpuid_entry2> buf(n);
    buf.header()->nent = static_cast<uint32_t>(n);
    if (::ioctl(fd, req, buf.header()) == 0)
      return std::vector<kvm_cpuid_entry2>(buf.entries(), buf.entries() + buf.header()->nent);
    if (errno != E2BIG) return errno_error(name);
  }
  return make_error(std::string(name) + ": too many entries");
}

Result<void> ioctl_void(int fd, unsigned long req, const void* arg, const char* name) {
  if (::ioctl(fd, req, arg) < 0) return errno_error(name);
  return {};
}

template <class T>
Result<T> ioctl_get(int fd, unsigned long req, const char* name) {
  T v{};
  if (::ioctl(fd, req, &v) < 0) return errno_error(name);
  return v;
}

}  // namespace

Result<Kvm> Kvm::open(const char* path) {
  UniqueFd fd(::open(path, O_RDWR | O_CLOEXEC));
  if (!fd.valid()) return errno_error(std::string("cannot open ") + path);
  int version = ::ioctl(fd.get(), KVM_GET_API_VERSION, 0);
  if (version != KVM_API_VERSION)
    return make_error("KVM API version " + std::to_string(version) + " is not the expected " +
                      std::to_string(KVM_API_VERSION));
  int run_size = ::ioctl(fd.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (run_size <= 0) return errno_error("KVM_GET_VCPU_MMAP_SIZE");
  return Kvm(std::move(fd), run_size);
}

Result<int> Kvm::check_extension(int cap) const {
  int r = ::ioctl(fd_.get(), KVM_CHECK_EXTENSION, cap);
  if (r < 0) return errno_error("KVM_CHECK_EXTENSION");
  return r;
}

Result<std::vector<kvm_cpuid_entry2>> Kvm::supported_cpuid() const {
  return get_cpuid_entries(fd_.get(), kGetSupportedCpuid, "KVM_GET_SUPPORTED_CPUID");
}

Result<std::vector<uint32_t>> Kvm::msr_index_list() const {
  for (size_t n = 64; n <= 4096; n *= 2) {
    FlexBuffer<MsrListHeader, uint32_t> buf(n);
    buf.header()->nmsrs = static_cast<uint32_t>(n);
    if (::ioctl(fd_.get(), kGetMsrIndexList, buf.header()) == 0)
      return std::vector<uint32_t>(buf.entries(), buf.entries() + buf.header()->nmsrs);
    if (errno != E2BIG) return errno_error("KVM_GET_MSR_INDEX_LIST");
  }
  return make_error("KVM_GET_MSR_INDEX_LIST: too many entries");
}

Result<VmFd> Kvm::create_vm() const {
  int fd = -1;
  // Creating a VM can fail transiently with EINTR while the kernel allocates.
  do {
    fd = ::ioctl(fd_.get(), KVM_CREATE_VM, 0);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno_error("KVM_CREATE_VM");
  return VmFd(UniqueFd(fd), run_size_);
}

Result<void> VmFd::set_tss_addr(uint64_t addr) const {
  if (::ioctl(fd_.get(), KVM_SET_TSS_ADDR, static_cast<unsigned long>(addr)) < 0)
    return errno_error("KVM_SET_TSS_ADDR");
  return {};
}

Result<void> VmFd::set_identity_map_addr(uint64_t addr) const {
  return ioctl_void(fd_.get(), KVM_SET_IDENTITY_MAP_ADDR, &addr, "KVM_SET_IDENTITY_MAP_ADDR");
}

Result<void> VmFd::create_irqchip() const {
  if (::ioctl(fd_.get(), KVM_CREATE_IRQCHIP, 0) < 0) return errno_error("KVM_CREATE_IRQCHIP");
  return {};
}

Result<void> VmFd::create_pit2() const {
  kvm_pit_config cfg{};
  // Speaker port 0x61 dummy: the guest's PIT calibration reads it without a VMM exit.
  cfg.flags = KVM_PIT_SPEAKER_DUMMY;
  return ioctl_void(fd_.get(), KVM_CREATE_PIT2, &cfg, "KVM_CREATE_PIT2");
}

Result<void> VmFd::set_user_memory_region(uint32_t slot, uint64_t guest_addr, uint64_t size,
                                          void* host, bool log_dirty) const {
  kvm_userspace_memory_region r{};
  r.slot = slot;
  r.flags = log_dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0;
  r.guest_phys_addr = guest_addr;
  r.memory_size = size;
  r.userspace_addr = reinterpret_cast<uint64_t>(host);
  return ioctl_void(fd_.get(), KVM_SET_USER_MEMORY_REGION, &r, "KVM_SET_USER_MEMORY_REGION");
}

Result<void> VmFd::register_irqfd(int event_fd, uint32_t gsi) const {
  kvm_irqfd irqfd{};
  irqfd.fd = static_cast<uint32_t>(event_fd);
  irqfd.gsi = gsi;
  return ioctl_void(fd_.get(), KVM_IRQFD, &irqfd, "KVM_IRQFD");
}

Result<void> VmFd::register_ioeventfd(int event_fd, uint64_t addr, uint32_t len, bool pio,
                                      const uint64_t* datamatch) const {
  kvm_ioeventfd io{};
  io.addr = addr;
  io.len = len;
  io.fd = event_fd;
  if (pio) io.flags |= KVM_IOEVENTFD_FLAG_PIO;
  if (datamatch != nullptr) {
    io.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
    io.datamatch = *datamatch;
  }
  return ioctl_void(fd_.get(), KVM_IOEVENTFD, &io, "KVM_IOEVENTFD");
}

Result<std::vector<uint64_t>> VmFd::get_dirty_log(uint32_t slot, uint64_t pages) const {
  std::vector<uint64_t> bitmap((pages + 63) / 64, 0);
  kvm_dirty_log log{};
  log.slot = slot;
  log.dirty_bitmap = bitmap.data();
  TRY(ioctl_void(fd_.get(), KVM_GET_DIRTY_LOG, &log, "KVM_GET_DIRTY_LOG"));
  return bitmap;
}

Result<kvm_irqchip> VmFd::get_irqchip(uint32_t chip) const {
  kvm_irqchip c{};
  c.chip_id = chip;
  if (::ioctl(fd_.get(), KVM_GET_IRQCHIP, &c) < 0) return errno_error("KVM_GET_IRQCHIP");
  return c;
}
Result<void> VmFd::set_irqchip(const kvm_irqchip& c) const { return ioctl_void(fd_.get(), KVM_SET_IRQCHIP, &c, "KVM_SET_IRQCHIP"); }
Result<kvm_pit_state2> VmFd::get_pit2() const { return ioctl_get<kvm_pit_state2>(fd_.get(), KVM_GET_PIT2, "KVM_GET_PIT2"); }
Result<void> VmFd::set_pit2(const kvm_pit_state2& p) const { return ioctl_void(fd_.get(), KVM_SET_PIT2, &p, "KVM_SET_PIT2"); }
Result<kvm_clock_data> VmFd::get_clock() const { return ioctl_get<kvm_clock_data>(fd_.get(), KVM_GET_CLOCK, "KVM_GET_CLOCK"); }
Result<void> VmFd::set_clock(const kvm_clock_data& c) const { return ioctl_void(fd_.get(), KVM_SET_CLOCK, &c, "KVM_SET_CLOCK"); }

Result<int> VmFd::check_extension(int cap) const {
  int r = ::ioctl(fd_.get(), KVM_CHECK_EXTENSION, cap);
  if (r < 0) return errno_error("KVM_CHECK_EXTENSION");
  return r;
}

Result<VcpuFd> VmFd::create_vcpu(uint32_t id) const {
  int fd = ::ioctl(fd_.get(), KVM_CREATE_VCPU, static_cast<unsigned long>(id));
  if (fd < 0) return errno_error("KVM_CREATE_VCPU " + std::to_string(id));
  UniqueFd vcpu(fd);
  void* p = ::mmap(nullptr, static_cast<size_t>(run_size_), PROT_READ | PROT_WRITE, MAP_SHARED,
                   vcpu.get(), 0);
  if (p == MAP_FAILED) return errno_error("mmap kvm_run of vCPU " + std::to_string(id));
  return VcpuFd(std::move(vcpu), id,
                std::make_unique<KvmRunMapping>(static_cast<kvm_run*>(p),
                                                static_cast<size_t>(run_size_)));
}

KvmRunMapping::~KvmRunMapping() { ::munmap(run_, size_); }

int VcpuFd::run() const {
  if (::ioctl(fd_.get(), KVM_RUN, 0) < 0) return -errno;
  return 0;
}

Result<kvm_regs> VcpuFd::get_regs() const { return ioctl_get<kvm_regs>(fd_.get(), KVM_GET_REGS, "KVM_GET_REGS"); }
Result<void> VcpuFd::set_regs(const kvm_regs& r) const { return ioctl_void(fd_.get(), KVM_SET_REGS, &r, "KVM_SET_REGS"); }
Result<kvm_sregs> VcpuFd::get_sregs() const { return ioctl_get<kvm_sregs>(fd_.get(), KVM_GET_SREGS, "KVM_GET_SREGS"); }
Result<void> VcpuFd::set_sregs(const kvm_sregs& s) const { return ioctl_void(fd_.get(), KVM_SET_SREGS, &s, "KVM_SET_SREGS"); }
Result<void> VcpuFd::set_fpu(const kvm_fpu& f) const { return ioctl_void(fd_.get(), KVM_SET_FPU, &f, "KVM_SET_FPU"); }
Result<kvm_lapic_state> VcpuFd::get_lapic() const { return ioctl_get<kvm_lapic_state>(fd_.get(), KVM_GET_LAPIC, "KVM_GET_LAPIC"); }
Result<void> VcpuFd::set_lapic(const kvm_lapic_state& l) const { return ioctl_void(fd_.get(), KVM_SET_LAPIC, &l, "KVM_SET_LAPIC"); }

Result<kvm_xcrs> VcpuFd::get_xcrs() const { return ioctl_get<kvm_xcrs>(fd_.get(), KVM_GET_XCRS, "KVM_GET_XCRS"); }
Result<void> VcpuFd::set_xcrs(const kvm_xcrs& x) const { return ioctl_void(fd_.get(), KVM_SET_XCRS, &x, "KVM_SET_XCRS"); }
Result<kvm_vcpu_events> VcpuFd::get_vcpu_events() const { return ioctl_get<kvm_vcpu_events>(fd_.get(), KVM_GET_VCPU_EVENTS, "KVM_GET_VCPU_EVENTS"); }
Result<void> VcpuFd::set_vcpu_events(const kvm_vcpu_events& e) const { return ioctl_void(fd_.get(), KVM_SET_VCPU_EVENTS, &e, "KVM_SET_VCPU_EVENTS"); }
Result<kvm_mp_state> VcpuFd::get_mp_state() const { return ioctl_get<kvm_mp_state>(fd_.get(), KVM_GET_MP_STATE, "KVM_GET_MP_STATE"); }
Result<void> VcpuFd::set_mp_state(const kvm_mp_state& m) const { return ioctl_void(fd_.get(), KVM_SET_MP_STATE, &m, "KVM_SET_MP_STATE"); }
Result<kvm_debugregs> VcpuFd::get_debugregs() const { return ioctl_get<kvm_debugregs>(fd_.get(), KVM_GET_DEBUGREGS, "KVM_GET_DEBUGREGS"); }
Result<void> VcpuFd::set_debugregs(const kvm_debugregs& d) const { return ioctl_void(fd_.get(), KVM_SET_DEBUGREGS, &d, "KVM_SET_DEBUGREGS"); }

Result<void> VcpuFd::kvmclock_ctrl() const {
  if (::ioctl(fd_.get(), KVM_KVMCLOCK_CTRL, 0) < 0) return errno_error("KVM_KVMCLOCK_CTRL");
  return {};
}

Result<std::vector<uint8_t>> VcpuFd::get_xsave(size_t size) const {
  if (size < kLegacyXsaveSize) size = kLegacyXsaveSize;
  std::vector<uint8_t> area(size, 0);
  const unsigned long req = size > kLegacyXsaveSize ? kGetXsave2 : kGetXsave;
  if (::ioctl(fd_.get(), req, area.data()) < 0) return errno_error("KVM_GET_XSAVE");
  return area;
}

Result<void> VcpuFd::set_xsave(const std::vector<uint8_t>& area) const {
  // KVM_SET_XSAVE reads KVM_CAP_XSAVE2's size when that is larger: the buffer must hold it.
  if (area.size() < kLegacyXsaveSize) return make_error("XSAVE area is smaller than 4096 bytes");
  return ioctl_void(fd_.get(), kSetXsave, area.data(), "KVM_SET_XSAVE");
}

Result<std::vector<kvm_cpuid_entry2>> VcpuFd::get_cpuid() const {
  return get_cpuid_entries(fd_.get(), kGetCpuid2, "KVM_GET_CPUID2");
}

Result<std::vector<kvm_msr_entry>> VcpuFd::get_msrs(const std::vector<uint32_t>& indices) const {
  std::vector<kvm_msr_entry> out;
  size_t next = 0;
  // KVM_GET_MSRS stops at the first MSR it cannot read and returns how many it read: skip
  // that one and go on from the next.
  while (next < indices.size()) {
    const size_t n = indices.size() - next;
    FlexBuffer<MsrsHeader, kvm_msr_entry> buf(n);
    buf.header()->nmsrs = static_cast<uint32_t>(n);
    for (size_t i = 0; i < n; ++i) buf.entries()[i].index = indices[next + i];
    const int got = ::ioctl(fd_.get(), kGetMsrs, buf.header());
    if (got < 0) return errno_error("KVM_GET_MSRS");
    out.insert(out.end(), buf.entries(), buf.entries() + got);
    next += static_cast<size_t>(got) + 1;
  }
  return out;
}

Result<void> VcpuFd::set_cpuid(const std::vector<kvm_cpuid_entry2>& entries) const {
  FlexBuffer<CpuidHeader, kvm_cpuid_entry2> buf(entries.size());
  buf.header()->nent = static_cast<uint32_t>(entries.size());
  std::memcpy(buf.entries(), entries.data(), entries.size() * sizeof(kvm_cpuid_entry2));
  return ioctl_void(fd_.get(), kSetCpuid2, buf.header(), "KVM_SET_CPUID2");
}

Result<void> VcpuFd::set_msrs(const std::vector<kvm_msr_entry>& entries) const {
  FlexBuffer<MsrsHeader, kvm_msr_entry> buf(entries.size());
  buf.header()->nmsrs = static_cast<uint32_t>(entries.size());
  std::memcpy(buf.entries(), entries.data(), entries.size() * sizeof(kvm_msr_entry));
  int n = ::ioctl(fd_.get(), kSetMsrs, buf.header());
  if (n < 0) return errno_error("KVM_SET_MSRS");
  // KVM_SET_MSRS returns how many it set; it stops at the first one it refuses.
  if (static_cast<size_t>(n) != entries.size()) {
    char idx[16];
    std::snprintf(idx, sizeof idx, "0x%x", entries[static_cast<size_t>(n)].index);
    return make_error(std::string("KVM_SET_MSRS refused MSR ") + idx);
  }
  return {};
}

}  // namespace ember
