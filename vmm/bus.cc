#include "vmm/bus.h"

#include <cstring>

#include "base/check.h"

namespace ember {

Result<void> Bus::insert(std::shared_ptr<BusDevice> device, uint64_t base, uint64_t len) {
  CHECK_MSG(!frozen_, "bus is frozen");
  if (len == 0 || base + len < base) return make_error(name_ + " bus: empty or wrapping range");
  auto next = entries_.lower_bound(base);
  if (next != entries_.end() && next->first < base + len)
    return make_error(name_ + " bus: range overlaps an existing device");
  if (next != entries_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second.len > base)
      return make_error(name_ + " bus: range overlaps an existing device");
  }
  entries_.emplace(base, Entry{len, std::move(device), std::make_unique<std::mutex>()});
  return {};
}

const std::pair<const uint64_t, Bus::Entry>* Bus::find(uint64_t addr, uint64_t len) const {
  auto it = entries_.upper_bound(addr);
  if (it == entries_.begin()) return nullptr;
  --it;
  uint64_t off = addr - it->first;
  if (off >= it->second.len || len > it->second.len - off) return nullptr;
  return &*it;
}

bool Bus::read(uint64_t addr, std::span<uint8_t> data) const {
  const auto* e = find(addr, data.size());
  if (e == nullptr) return false;
  std::lock_guard<std::mutex> g(*e->second.lock);
  e->second.device->read(addr - e->first, data);
  return true;
}

bool Bus::write(uint64_t addr, std::span<const uint8_t> data) const {
  const auto* e = find(addr, data.size());
  if (e == nullptr) return false;
  std::lock_guard<std::mutex> g(*e->second.lock);
  e->second.device->write(addr - e->first, data);
  return true;
}

}  // namespace ember
