#include "vmm/microvm.h"

#include <sys/epoll.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "snapshot/state_file.h"
#include "vmm/device_configs.h"
#include "vmm/irq_eventfd.h"
#include "vmm/snapshot/microvm_state.h"

namespace ember {

class MicroVm::RawTerminal {
 public:
  // Restored on destruction; a fd that is no terminal is left alone.
  explicit RawTerminal(int fd) : fd_(fd) {
    if (!::isatty(fd) || ::tcgetattr(fd, &saved_) != 0) return;
    termios raw = saved_;
    cfmakeraw(&raw);
    raw.c_oflag |= OPOST | ONLCR;  // keep the host's newline handling for our own output
    if (::tcsetattr(fd, TCSANOW, &raw) == 0) active_ = true;
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;
  ~RawTerminal() {
    if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
  }

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

MicroVm::MicroVm(EventLoop& loop, VmConfig config, std::unique_ptr<MicroVmParts> parts, int console_in_fd)
    : loop_(loop), config_(std::move(config)), parts_(std::move(parts)), console_in_fd_(console_in_fd) {}

MicroVm::~MicroVm() { stop(); }

Result<void> MicroVm::send_ctrl_alt_del() { return parts_->i8042->trigger_ctrl_alt_del(); }

Result<void> MicroVm::update_net_rate_limiters(const std::string& iface_id, const std::optional<RateLimiterConfig>& rx,
                                               const std::optional<RateLimiterConfig>& tx) {
  auto it = parts_->nets.find(iface_id);
  if (it == parts_->nets.end()) return make_error("no network interface '" + iface_id + "'");
  it->second->update_rate_limiters(to_update(rx), to_update(tx));
  // A snapshot rebuilds the interface from the configuration: keep it current.
  for (auto& iface : config_.network_interfaces) {
    if (iface.iface_id != iface_id) continue;
    if (rx) iface.rx_rate_limiter = rx;
    if (tx) iface.tx_rate_limiter = tx;
  }
  return {};
}

Result<void> MicroVm::update_drive(const std::string& drive_id, const std::optional<std::string>& path_on_host,
                                   const std::optional<RateLimiterConfig>& rate_limiter) {
  auto it = parts_->blocks.find(drive_id);
  if (it == parts_->blocks.end()) return make_error("no drive '" + drive_id + "'");
  if (path_on_host) TRY(it->second->update_backing_file(*path_on_host));
  if (rate_limiter) TRY(it->second->update_rate_limiter(to_update(rate_limiter)));
  // A snapshot rebuilds the drive from the configuration: keep it current.
  for (auto& d : config_.drives) {
    if (d.drive_id != drive_id) continue;
    if (path_on_host) d.path_on_host = *path_on_host;
    if (rate_limiter) d.rate_limiter = rate_limiter;
  }
  return {};
}

VmCounters MicroVm::counters() const {
  VmCounters c;
  for (const auto& v : parts_->vcpus) c.vcpu += v->exit_counters();
  for (const auto& [id, block] : parts_->blocks) c.blocks[id] = block->counters();
  for (const auto& [id, net] : parts_->nets) c.nets[id] = net->counters();
  if (parts_->vsock) c.vsock = parts_->vsock->counters();
  if (parts_->serial) c.uart = parts_->serial->counters();
  if (parts_->i8042) c.i8042 = parts_->i8042->counters();
  c.interrupt_triggers = IrqEventFd::total_triggers();
  return c;
}

void MicroVm::read_console_input() {
  // Only when epoll says stdin is readable: the fd is shared with the user's terminal, so it
  // stays blocking and is never read speculatively.
  if (console_in_fd_ < 0) return;
  uint8_t buf[256];
  ssize_t n = ::read(console_in_fd_, buf, sizeof buf);
  if (n > 0) {
    // A guest that never reads its console must not make us buffer without bound.
    constexpr size_t kMaxPendingInput = 64 * 1024;
    const size_t room = kMaxPendingInput - std::min(kMaxPendingInput, pending_input_.size());
    pending_input_.insert(pending_input_.end(), buf, buf + std::min<size_t>(room, static_cast<size_t>(n)));
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    loop_.remove(console_in_fd_);  // EOF: the guest simply gets no more input
    console_in_fd_ = -1;
  }
}

void MicroVm::push_console_input() {
  while (!pending_input_.empty()) {
    uint8_t chunk[64];
    size_t n = std::min(pending_input_.size(), sizeof chunk);
    std::copy_n(pending_input_.begin(), n, chunk);
    size_t accepted = parts_->serial->enqueue_input(std::span<const uint8_t>(chunk, n));
    pending_input_.erase(pending_input_.begin(), pending_input_.begin() + static_cast<long>(accepted));
    if (accepted < n) break;  // the guest's FIFO is full; resumed when it drains
  }
}

void MicroVm::start() {
  if (console_in_fd_ >= 0) {
    raw_terminal_ = std::make_unique<RawTerminal>(console_in_fd_);
    // A console that cannot be polled (a regular file) just gets no input.
    if (!loop_.add(console_in_fd_, EPOLLIN, [this](uint32_t) {
          read_console_input();
          push_console_input();
        }).ok())
      console_in_fd_ = -1;
  }
  (void)loop_.add(parts_->console_input_room->fd(), EPOLLIN, [this](uint32_t) {
    parts_->console_input_room->drain();
    push_console_input();
  });
  Vcpu::install_kick_handler();
  for (auto& v : parts_->vcpus) v->start();
}

void MicroVm::pause() {
  parts_->virtio->set_paused(true);
  for (auto& v : parts_->vcpus) v->pause();
  // A guest with kvmclock learns it was stopped, so its soft-lockup watchdog does not fire
  // on resume; a vCPU that never ran or a guest without kvmclock refuses, harmlessly.
  // Firecracker counts the refusals (vcpu.kvmclock_ctrl_fails); so does ember.
  for (auto& v : parts_->vcpus)
    if (!v->fd().kvmclock_ctrl()) v->count_kvmclock_ctrl_failure();
  paused_ = true;
}

void MicroVm::resume() {
  paused_ = false;
  for (auto& v : parts_->vcpus) v->resume();
  parts_->virtio->set_paused(false);
}

Result<DirtyBitmaps> MicroVm::take_dirty_pages(const std::vector<VirtioDeviceSnapshot>& devices) {
  GuestMemory& memory = *parts_->memory;
  // The used rings (and the avail_event field) are written through views taken when the queue
  // was activated, which the VMM's own tracking does not see: count them as written.
  for (const auto& d : devices) {
    for (const auto& q : d.transport.queues) {
      if (!q.ready || q.size == 0) continue;
      (void)memory.slice(q.used_ring, 6 + 8ull * q.size);
      (void)memory.slice(q.avail_ring, 6 + 2ull * q.size);
    }
  }
  DirtyBitmaps dirty;
  uint32_t slot = 0;
  for (const auto& r : memory.regions()) {
    ASSIGN_OR_RETURN(std::vector<uint64_t> pages, parts_->vm_fd->get_dirty_log(slot, r.size() / kMemoryPageSize));
    const std::vector<uint64_t> host = memory.take_host_dirty(slot);
    for (size_t w = 0; w < pages.size() && w < host.size(); ++w) pages[w] |= host[w];
    if (slot < carried_dirty_.size())
      for (size_t w = 0; w < pages.size() && w < carried_dirty_[slot].size(); ++w) pages[w] |= carried_dirty_[slot][w];
    dirty.push_back(std::move(pages));
    ++slot;
  }
  carried_dirty_.clear();
  return dirty;
}

void MicroVm::forget_dirty_pages() {
  if (parts_->memory->dirty_tracking()) (void)take_dirty_pages({});
}

Result<void> MicroVm::create_snapshot(const SnapshotCreateParams& params) {
  if (!paused_) return make_error("the microVM must be paused first (PATCH /vm {\"state\": \"Paused\"})");
  const GuestMemory& memory = *parts_->memory;
  const bool diff = params.snapshot_type == SnapshotType::kDiff;
  if (diff && !memory.dirty_tracking())
    return make_error("a Diff snapshot needs dirty page tracking: set track_dirty_pages in machine-config");
  parts_->virtio->quiesce();

  MicrovmState s;
  s.ember_version = EMBER_VERSION;
  s.config = config_;
  for (const auto& r : memory.regions()) s.memory_regions.push_back({r.guest_addr(), r.size()});
  if (msr_indices_.empty()) {
    ASSIGN_OR_RETURN(msr_indices_, parts_->kvm->msr_index_list());
  }
  ASSIGN_OR_RETURN(s.vm, save_vm_state(*parts_->vm_fd));
  for (const auto& v : parts_->vcpus) {
    auto state = save_vcpu_state(v->fd(), msr_indices_, parts_->xsave_size);
    if (!state) return with_context("vCPU " + std::to_string(v->fd().id()), state.error());
    s.vcpus.push_back(std::move(state).value());
  }
  s.serial = parts_->serial->save_state();
  s.i8042 = parts_->i8042->save_state();
  s.virtio = parts_->virtio->save_states();

  if (!memory.dirty_tracking()) {
    TRY(write_memory_file(params.mem_file_path, memory));
    return write_state_file(params.snapshot_path, encode_microvm_state(s));
  }
  ASSIGN_OR_RETURN(DirtyBitmaps dirty, take_dirty_pages(s.virtio));
  auto written = diff ? write_memory_diff_file(params.mem_file_path, memory, dirty)
                      : write_memory_file(params.mem_file_path, memory);
  if (written) written = write_state_file(params.snapshot_path, encode_microvm_state(s));
  // The next Diff must still carry what this one failed to write.
  if (!written) carried_dirty_ = std::move(dirty);
  return written;
}

void MicroVm::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& v : parts_->vcpus) v->request_stop();
  for (auto& v : parts_->vcpus) v->join();
  if (console_in_fd_ >= 0) loop_.remove(console_in_fd_);
  if (parts_->console_input_room) loop_.remove(parts_->console_input_room->fd());
  raw_terminal_.reset();
}

}  // namespace ember
