// What the virtio devices here (block, net, vsock) share on top of the VirtioDevice interface:
// - activation_: whether the device is active, and what activate() gave it;
// - counters_: its metrics counters, kept as atomics (AtomicCounters) over the device's plain
//   counters struct, which counters() hands out;
// - process_queue() / process_event(): nothing while inactive (a notification or host event
//   that arrives after a reset has nothing to act on), else the device's serve_queue() /
//   serve_event(); a failure there means the driver broke a queue (the transport then stops
//   the device until the driver resets it) and is counted in the struct's queue_errors;
// - log_problem(): the device's rationed log of problems the guest or a backend caused
//   (ProblemLog), each line naming the device as its problem_source() says.
//
// Threads: whether the device is active is read here without any lock of the device's own:
// only activate() and reset() change it, and the transport calls those and process_queue() /
// process_event() under its one lock (virtio_device.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "devices/virtio/activation.h"
#include "devices/virtio/atomic_counters.h"
#include "devices/virtio/problem_log.h"
#include "devices/virtio/virtio_device.h"
#include "base/result.h"

namespace ember {

// Counters: a plain struct of uint64_t counters with a queue_errors field.
template <typename Counters>
class VirtioDeviceBase : public VirtioDevice {
 public:
  [[nodiscard]] Result<void> process_queue(uint16_t index) final {
    if (!activation_.active()) return {};
    return count_queue_error(serve_queue(index));
  }
  [[nodiscard]] Result<void> process_event(uint32_t event_id) final {
    if (!activation_.active()) return {};
    return count_queue_error(serve_event(event_id));
  }

  // Totals since the device was created, for metrics; any thread.
  [[nodiscard]] Counters counters() const { return counters_.snapshot(); }

 protected:
  // `problems`: how many problems the device logs (see log_problem()).
  explicit VirtioDeviceBase(ProblemLog problems) : problems_(problems) {}

  // Only while active; the meaning of an error as for process_queue() / process_event().
  [[nodiscard]] virtual Result<void> serve_queue(uint16_t index) = 0;
  [[nodiscard]] virtual Result<void> serve_event(uint32_t event_id) = 0;

  // Who logs problems: the device and which one ("virtio-net eth0"). Asked at each problem
  // logged, under whatever lock the log_problem() caller holds.
  [[nodiscard]] virtual std::string problem_source() const = 0;

  // Logs a problem the guest or a backend caused as "<problem_source()>: <problem>", the
  // first few times only (ProblemLog): a driver must not be able to flood the host's log.
  // Not thread-safe: callers hold the device's lock, or are the transport's locked calls.
  void log_problem(std::string_view problem) {
    if (!problems_.quiet()) problems_.log(problem_source(), problem);
  }

  // Set by the device's activate(), cleared by its reset().
  VirtioActivation activation_;
  AtomicCounters<Counters> counters_;

 private:
  ProblemLog problems_;

  [[nodiscard]] Result<void> count_queue_error(Result<void> result) {
    if (!result.ok()) counters_.add(&Counters::queue_errors);
    return result;
  }
};

}  // namespace ember
