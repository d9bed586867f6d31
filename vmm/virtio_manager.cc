#include "vmm/virtio_manager.h"

#include <sys/epoll.h>

#include <map>

#include "vmm/irq_eventfd.h"
#include "base/hex.h"
#include "base/log.h"

namespace ember {

// One device's place on the VM: its transport, queue eventfds, and the host fds it watches.
class VirtioManager::Slot final : public EventRegistrar {
 public:
  explicit Slot(EventLoop& loop) : loop_(loop) {}
  ~Slot() override {
    // The device may unwatch its fds from its destructor: let it, while this slot still works.
    transport.reset();
    for (const auto& [fd, _] : watched_) loop_.remove(fd);
    for (const auto& q : queue_events_) loop_.remove(q.fd());
  }

  Result<void> watch(int fd, uint32_t events, uint32_t event_id) override {
    if (watched_.contains(fd)) return make_error("fd " + std::to_string(fd) + " is already watched");
    TRY(loop_.add(fd, events, handler(event_id)));
    watched_[fd] = event_id;
    return {};
  }
  Result<void> modify(int fd, uint32_t events, uint32_t event_id) override {
    if (!watched_.contains(fd)) return make_error("fd " + std::to_string(fd) + " is not watched");
    TRY(loop_.modify(fd, events, handler(event_id)));
    watched_[fd] = event_id;
    return {};
  }
  void unwatch(int fd) override {
    if (watched_.erase(fd) != 0) loop_.remove(fd);
  }

  std::shared_ptr<VirtioMmioTransport> transport;
  std::vector<EventFd> queue_events_;
  std::string id;

 private:
  EventLoop::Handler handler(uint32_t event_id) {
    return [this, event_id](uint32_t) {
      if (transport) transport->process_device_event(event_id);
    };
  }
  EventLoop& loop_;
  std::map<int, uint32_t> watched_;
};

VirtioManager::VirtioManager(const VmFd& vm, const GuestMemory& mem, Bus& mmio, EventLoop& loop)
    : vm_(vm), mem_(mem), mmio_(mmio), loop_(loop) {}

VirtioManager::~VirtioManager() = default;

void VirtioManager::set_paused(bool paused) {
  const bool resuming = paused_ && !paused;
  paused_ = paused;
  if (!resuming) return;
  for (auto& slot : slots_)
    for (uint32_t q = 0; q < slot->queue_events_.size(); ++q) slot->transport->notify_queue(q);
}

void VirtioManager::quiesce() {
  for (auto& slot : slots_) slot->transport->quiesce();
}

std::vector<VirtioDeviceSnapshot> VirtioManager::save_states() const {
  std::vector<VirtioDeviceSnapshot> out;
  for (const auto& slot : slots_)
    out.push_back({slot->id, slot->transport->device()->device_type(), slot->transport->save_state()});
  return out;
}

Result<void> VirtioManager::restore_states(const std::vector<VirtioDeviceSnapshot>& states) {
  if (states.size() != slots_.size())
    return make_error("the snapshot has " + std::to_string(states.size()) + " virtio devices, the restored VM " +
                      std::to_string(slots_.size()));
  for (size_t i = 0; i < states.size(); ++i) {
    const Slot& slot = *slots_[i];
    if (states[i].id != slot.id || states[i].device_type != slot.transport->device()->device_type())
      return make_error("virtio device " + std::to_string(i) + " is '" + slot.id + "' here but '" + states[i].id +
                        "' in the snapshot");
    auto r = slot.transport->restore_state(states[i].transport);
    if (!r) return with_context(slot.id, r.error());
  }
  return {};
}

Result<std::shared_ptr<VirtioMmioTransport>> VirtioManager::add(const VirtioDevicePlan& plan,
                                                                const DeviceFactory& factory) {
  const std::string& id = plan.id;
  const uint64_t base = plan.mmio_base;
  const uint32_t gsi = plan.gsi;

  auto slot = std::make_unique<Slot>(loop_);
  auto device = factory(*slot);
  if (!device) return with_context(id, device.error());
  ASSIGN_OR_RETURN(auto irq, IrqEventFd::create(vm_, gsi));
  auto transport = std::make_shared<VirtioMmioTransport>(*device, mem_, irq);
  TRY(mmio_.insert(transport, base, plan.mmio_size));

  // Queue notifications: the guest writes the queue index to QueueNotify; KVM signals the
  // matching eventfd instead of exiting to the vCPU thread.
  const size_t queues = (*device)->queue_max_sizes().size();
  for (uint64_t q = 0; q < queues; ++q) {
    ASSIGN_OR_RETURN(EventFd ev, EventFd::create());
    TRY(vm_.register_ioeventfd(ev.fd(), base + VirtioMmioTransport::kQueueNotifyOffset, 4,
                               /*pio=*/false, &q));
    slot->queue_events_.push_back(std::move(ev));
  }
  slot->transport = transport;
  slot->id = id;
  Slot* raw = slot.get();
  for (uint32_t q = 0; q < queues; ++q) {
    const EventFd* ev = &raw->queue_events_[q];
    TRY(loop_.add(ev->fd(), EPOLLIN, [this, raw, ev, q](uint32_t) {
      ev->drain();
      if (!paused_) raw->transport->notify_queue(q);
    }));
  }
  slots_.push_back(std::move(slot));
  acpi_.push_back({base, plan.mmio_size, gsi});
  log_info(id + ": virtio-mmio at " + to_hex(base) + ", GSI " + std::to_string(gsi));
  return transport;
}

}  // namespace ember
