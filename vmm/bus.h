// Ordered address ranges mapped to devices; overlap is refused; frozen before vCPUs run so
// lookups from vCPU threads need no lock on the map itself.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "devices/bus_device.h"
#include "base/result.h"

namespace ember {

class Bus {
 public:
  explicit Bus(std::string name) : name_(std::move(name)) {}

  [[nodiscard]] Result<void> insert(std::shared_ptr<BusDevice> device, uint64_t base, uint64_t len);
  void freeze() { frozen_ = true; }

  // Returns false when no device covers the access (the caller treats reads as all ones).
  bool read(uint64_t addr, std::span<uint8_t> data) const;
  bool write(uint64_t addr, std::span<const uint8_t> data) const;

 private:
  struct Entry {
    uint64_t len;
    std::shared_ptr<BusDevice> device;
    std::unique_ptr<std::mutex> lock;  // one access at a time per device
  };
  const std::pair<const uint64_t, Entry>* find(uint64_t addr, uint64_t len) const;

  std::string name_;
  std::map<uint64_t, Entry> entries_;
  bool frozen_ = false;
};

}  // namespace ember
