// The pieces every virtio device here shares: VirtioActivation and VirtioDeviceBase.
#include "devices/virtio/device_base.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "devices/virtio/activation.h"
#include "devices/virtio/queue.h"
#include "tests/unit/devices/legacy/legacy_fakes.h"
#include "tests/unit/devices/virtio/virtio_test_util.h"

namespace ember {
namespace {

using virtio_testing::Buf;
using virtio_testing::CountingInterrupt;
using virtio_testing::GuestQueue;

constexpr uint64_t kQueueBase = 0x10000;
constexpr uint64_t kData = 0x40000;

struct TestCounters {
  uint64_t served = 0;
  uint64_t queue_errors = 0;
};

// Serves queue and event runs as told, counting the runs it gets.
class TestDevice final : public VirtioDeviceBase<TestCounters> {
 public:
  TestDevice() : VirtioDeviceBase(ProblemLog(2)) {}

  uint32_t device_type() const override { return 0; }
  std::span<const uint16_t> queue_max_sizes() const override { return sizes_; }
  uint64_t device_features() const override { return 0; }
  void read_config(uint64_t, std::span<uint8_t>) const override {}
  void write_config(uint64_t, std::span<const uint8_t>) override {}
  Result<void> activate(const GuestMemory& mem, uint64_t, std::span<VirtQueue> queues,
                        VirtioInterrupt& interrupt) override {
    activation_.set(mem, queues, interrupt);
    return {};
  }
  void reset() override { activation_.clear(); }

  const VirtioActivation& activation() const { return activation_; }
  void report(const std::string& problem) { log_problem(problem); }
  std::string name = "dev0";
  mutable int sources_asked = 0;
  bool fail = false;
  int queue_runs = 0;
  int event_runs = 0;

 private:
  Result<void> serve_queue(uint16_t) override {
    ++queue_runs;
    return serve();
  }
  Result<void> serve_event(uint32_t) override {
    ++event_runs;
    return serve();
  }
  std::string problem_source() const override {
    ++sources_asked;
    return "virtio-test " + name;
  }
  Result<void> serve() {
    counters_.add(&TestCounters::served);
    if (fail) return make_error("the driver broke the queue");
    return {};
  }

  std::array<uint16_t, 1> sizes_{8};
};

class DeviceBaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    queues_[0].set_size(8);
    queues_[0].set_desc_table(guest_.desc_addr());
    queues_[0].set_avail_ring(guest_.avail_addr());
    queues_[0].set_used_ring(guest_.used_addr());
    queues_[0].set_ready(true);
    ASSERT_TRUE(queues_[0].activate(mem_).ok());
  }

  GuestMemory mem_ = virtio_testing::make_memory();
  GuestQueue guest_{mem_, 8, kQueueBase};
  std::array<VirtQueue, 1> queues_{VirtQueue(8)};
  CountingInterrupt interrupt_;
  TestDevice device_;
};

TEST_F(DeviceBaseTest, ActivationHoldsWhatActivateGot) {
  EXPECT_FALSE(device_.activation().active());
  ASSERT_TRUE(device_.activate(mem_, 0, queues_, interrupt_).ok());
  const VirtioActivation& a = device_.activation();
  EXPECT_TRUE(a.active());
  EXPECT_EQ(&a.mem(), &mem_);
  EXPECT_EQ(&a.queue(0), &queues_[0]);
  EXPECT_EQ(&a.interrupt(), &interrupt_);
  device_.reset();
  EXPECT_FALSE(device_.activation().active());
}

TEST_F(DeviceBaseTest, NotifiesOnlyForUsedBuffersTheDriverWantsToHearOf) {
  ASSERT_TRUE(device_.activate(mem_, 0, queues_, interrupt_).ok());
  const VirtioActivation& a = device_.activation();
  a.notify_used(0, false);
  EXPECT_EQ(interrupt_.used, 0);

  const uint16_t head = guest_.add_chain({Buf{kData, 16, true}});
  DescriptorChain chain;
  auto popped = queues_[0].pop(&chain);
  ASSERT_TRUE(popped.ok() && *popped);
  ASSERT_TRUE(queues_[0].add_used(head, 0).ok());
  a.notify_used(0, true);
  EXPECT_EQ(interrupt_.used, 1);

  // VIRTQ_AVAIL_F_NO_INTERRUPT: the driver does not want one (§2.7.7).
  guest_.set_avail_flags(1);
  guest_.add_chain({Buf{kData, 16, true}});
  popped = queues_[0].pop(&chain);
  ASSERT_TRUE(popped.ok() && *popped);
  ASSERT_TRUE(queues_[0].add_used(chain.head, 0).ok());
  a.notify_used(0, true);
  EXPECT_EQ(interrupt_.used, 1);
}

TEST_F(DeviceBaseTest, DoesNothingWhileInactive) {
  EXPECT_TRUE(device_.process_queue(0).ok());
  EXPECT_TRUE(device_.process_event(0).ok());
  device_.fail = true;
  EXPECT_TRUE(device_.process_queue(0).ok());
  EXPECT_EQ(device_.queue_runs + device_.event_runs, 0);
  EXPECT_EQ(device_.counters().queue_errors, 0u);

  ASSERT_TRUE(device_.activate(mem_, 0, queues_, interrupt_).ok());
  device_.reset();
  EXPECT_TRUE(device_.process_queue(0).ok()) << "a notification after a reset";
  EXPECT_EQ(device_.queue_runs, 0);
}

TEST_F(DeviceBaseTest, CountsFailedRunsAsQueueErrors) {
  ASSERT_TRUE(device_.activate(mem_, 0, queues_, interrupt_).ok());
  EXPECT_TRUE(device_.process_queue(0).ok());
  EXPECT_TRUE(device_.process_event(3).ok());
  EXPECT_EQ(device_.counters().queue_errors, 0u);

  device_.fail = true;
  auto q = device_.process_queue(0);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.error().message, "the driver broke the queue") << "the error is passed on";
  EXPECT_FALSE(device_.process_event(3).ok());

  const TestCounters c = device_.counters();
  EXPECT_EQ(c.queue_errors, 2u);
  EXPECT_EQ(c.served, 4u);
  EXPECT_EQ(device_.queue_runs, 2);
  EXPECT_EQ(device_.event_runs, 2);
}

TEST_F(DeviceBaseTest, LogsProblemsUnderTheDevicesCurrentNameAndGoesQuiet) {
  testing::LogCapture log;
  device_.report("first");
  device_.name = "dev1";  // as when a block device's backing file is swapped
  device_.report("second");
  device_.report("third");
  device_.report("fourth");
  const std::string text = log.text();
  EXPECT_NE(text.find("virtio-test dev0: first"), std::string::npos) << text;
  EXPECT_NE(text.find("virtio-test dev1: second"), std::string::npos) << text;
  EXPECT_NE(text.find("virtio-test dev1: more problems; not logging them"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("fourth"), std::string::npos) << text;
  EXPECT_EQ(device_.sources_asked, 3) << "a quiet log does not name the device";
}

}  // namespace
}  // namespace ember
