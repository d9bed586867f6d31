#include "devices/virtio/mmio_transport.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "devices/virtio/queue.h"
#include "tests/unit/devices/virtio/virtio_test_util.h"

namespace ember {
namespace {

using virtio_testing::CountingIrqLine;
using virtio_testing::GuestQueue;

// Register offsets and status bits, spelled out from §4.2.2 and §2.1 rather than taken from
// the code under test.
constexpr uint64_t kMagic = 0x000, kVersion = 0x004, kDeviceId = 0x008, kDeviceFeatures = 0x010,
                   kDeviceFeaturesSel = 0x014, kDriverFeatures = 0x020,
                   kDriverFeaturesSel = 0x024, kQueueSel = 0x030, kQueueNumMax = 0x034,
                   kQueueNum = 0x038, kQueueReady = 0x044, kQueueNotify = 0x050,
                   kInterruptStatus = 0x060, kInterruptAck = 0x064, kStatus = 0x070,
                   kQueueDescLow = 0x080, kQueueDescHigh = 0x084, kQueueDriverLow = 0x090,
                   kQueueDriverHigh = 0x094, kQueueDeviceLow = 0x0a0, kQueueDeviceHigh = 0x0a4,
                   kShmLenLow = 0x0b0, kConfigGeneration = 0x0fc, kConfig = 0x100;
constexpr uint32_t kAck = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8, kNeedsReset = 64,
                   kFailed = 128;
constexpr uint64_t kVersion1 = 1ull << 32, kEventIdx = 1ull << 29, kIndirect = 1ull << 28;
constexpr uint64_t kDeviceFeatureBit3 = 1ull << 3;

// A device with two queues that records what the transport does to it. Processing a queue
// returns every available chain with len 0 and signals once.
class FakeDevice final : public VirtioDevice {
 public:
  uint32_t device_type() const override { return 42; }
  std::span<const uint16_t> queue_max_sizes() const override { return sizes_; }
  uint64_t device_features() const override {
    return kVersion1 | kEventIdx | kIndirect | kDeviceFeatureBit3;
  }
  void read_config(uint64_t offset, std::span<uint8_t> data) const override {
    for (size_t i = 0; i < data.size(); ++i)
      data[i] = offset + i < config.size() ? config[offset + i] : 0;
  }
  void write_config(uint64_t offset, std::span<const uint8_t> data) override {
    for (size_t i = 0; i < data.size(); ++i)
      if (offset + i < config.size()) config[offset + i] = data[i];
  }
  Result<void> activate(const GuestMemory& /*mem*/, uint64_t acked, std::span<VirtQueue> queues,
                        VirtioInterrupt& interrupt) override {
    ++activations;
    if (fail_activate) return make_error("fake activation failure");
    acked_features = acked;
    queues_ = queues;
    interrupt_ = &interrupt;
    return {};
  }
  Result<void> process_queue(uint16_t index) override {
    processed.push_back(index);
    if (fail_process) return make_error("fake queue failure");
    VirtQueue& q = queues_[index];
    DescriptorChain chain;
    bool used = false;
    for (;;) {
      auto r = q.pop(&chain);
      if (!r) return r.error();
      if (!*r) break;
      TRY(q.add_used(chain.head, 0));
      used = true;
    }
    if (used && q.needs_notification()) interrupt_->signal_used_queue(index);
    return {};
  }
  Result<void> process_event(uint32_t id) override {
    events.push_back(id);
    return {};
  }
  void reset() override {
    ++resets;
    queues_ = {};
    interrupt_ = nullptr;
  }
  std::vector<uint8_t> save_device_state() const override { return {7, 7}; }
  Result<void> restore_device_state(std::span<const uint8_t> bytes) override {
    restored_state.assign(bytes.begin(), bytes.end());
    if (fail_restore) return make_error("fake restore failure");
    return {};
  }

  VirtioInterrupt* interrupt() { return interrupt_; }

  std::array<uint8_t, 8> config{1, 2, 3, 4, 5, 6, 7, 8};
  int activations = 0;
  int resets = 0;
  uint64_t acked_features = 0;
  bool fail_activate = false;
  bool fail_process = false;
  bool fail_restore = false;
  std::vector<uint16_t> processed;
  std::vector<uint32_t> events;
  std::vector<uint8_t> restored_state;

 private:
  std::array<uint16_t, 2> sizes_{16, 8};
  std::span<VirtQueue> queues_;
  VirtioInterrupt* interrupt_ = nullptr;
};

class MmioTransportTest : public ::testing::Test {
 protected:
  uint32_t rd(uint64_t offset) {
    uint32_t v = 0xdeadbeef;
    transport_.read(offset, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), 4));
    return v;
  }
  void wr(uint64_t offset, uint32_t v) {
    transport_.write(offset, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&v), 4));
  }
  void ack_features(uint64_t features) {
    wr(kDriverFeaturesSel, 0);
    wr(kDriverFeatures, static_cast<uint32_t>(features));
    wr(kDriverFeaturesSel, 1);
    wr(kDriverFeatures, static_cast<uint32_t>(features >> 32));
  }
  // §3.1.1 steps 1-6.
  void negotiate(uint64_t features = kVersion1 | kEventIdx) {
    wr(kStatus, kAck);
    wr(kStatus, kAck | kDriver);
    ack_features(features);
    wr(kStatus, kAck | kDriver | kFeaturesOk);
  }
  void setup_queue(uint32_t index, const GuestQueue& q) {
    wr(kQueueSel, index);
    wr(kQueueNum, q.size());
    wr(kQueueDescLow, static_cast<uint32_t>(q.desc_addr()));
    wr(kQueueDescHigh, static_cast<uint32_t>(q.desc_addr() >> 32));
    wr(kQueueDriverLow, static_cast<uint32_t>(q.avail_addr()));
    wr(kQueueDriverHigh, static_cast<uint32_t>(q.avail_addr() >> 32));
    wr(kQueueDeviceLow, static_cast<uint32_t>(q.used_addr()));
    wr(kQueueDeviceHigh, static_cast<uint32_t>(q.used_addr() >> 32));
    wr(kQueueReady, 1);
  }
  // A device with queue 0 set up and DRIVER_OK.
  void bring_up(uint64_t features = kVersion1 | kEventIdx) {
    negotiate(features);
    setup_queue(0, q0_);
    wr(kStatus, kAck | kDriver | kFeaturesOk | kDriverOk);
  }

  GuestMemory mem_ = virtio_testing::make_memory();
  GuestQueue q0_{mem_, 16, 0x10000};
  GuestQueue q1_{mem_, 8, 0x20000};
  std::shared_ptr<FakeDevice> device_ = std::make_shared<FakeDevice>();
  std::shared_ptr<CountingIrqLine> irq_ = std::make_shared<CountingIrqLine>();
  VirtioMmioTransport transport_{device_, mem_, irq_};
};

TEST_F(MmioTransportTest, IdentityRegisters) {
  EXPECT_EQ(rd(kMagic), 0x74726976u);
  EXPECT_EQ(rd(kVersion), 2u);
  EXPECT_EQ(rd(kDeviceId), 42u);
  EXPECT_EQ(rd(kShmLenLow), 0xffffffffu) << "no shared memory region";
  EXPECT_EQ(transport_.queue_count(), 2u);
}

TEST_F(MmioTransportTest, DeviceFeaturesBySelector) {
  wr(kDeviceFeaturesSel, 0);
  EXPECT_EQ(rd(kDeviceFeatures), static_cast<uint32_t>(kEventIdx | kIndirect | kDeviceFeatureBit3));
  wr(kDeviceFeaturesSel, 1);
  EXPECT_EQ(rd(kDeviceFeatures), 1u);  // VIRTIO_F_VERSION_1 is bit 32
  wr(kDeviceFeaturesSel, 2);
  EXPECT_EQ(rd(kDeviceFeatures), 0u);
}

TEST_F(MmioTransportTest, OnlyAligned32BitRegisterAccesses) {
  uint8_t b = 0xee;
  transport_.read(kMagic, std::span<uint8_t>(&b, 1));
  EXPECT_EQ(b, 0);
  uint32_t v = 0xeeeeeeee;
  transport_.read(kMagic + 2, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), 4));
  EXPECT_EQ(v, 0u);
  uint16_t s = kAck;
  transport_.write(kStatus, std::span<const uint8_t>(reinterpret_cast<uint8_t*>(&s), 2));
  EXPECT_EQ(rd(kStatus), 0u) << "a 16-bit status write must be ignored";
}

TEST_F(MmioTransportTest, StatusFollowsInitialisationSequence) {
  wr(kStatus, kDriverOk);  // skipping everything
  EXPECT_EQ(rd(kStatus), 0u);
  wr(kStatus, kAck);
  EXPECT_EQ(rd(kStatus), kAck);
  wr(kStatus, kAck | kFeaturesOk);  // skipping DRIVER
  EXPECT_EQ(rd(kStatus), kAck);
  wr(kStatus, kAck | kDriver);
  ack_features(kVersion1);
  wr(kStatus, kDriver);  // clearing ACKNOWLEDGE without a reset
  EXPECT_EQ(rd(kStatus), kAck | kDriver);
  wr(kStatus, kAck | kDriver | kDriverOk);  // DRIVER_OK before FEATURES_OK
  EXPECT_EQ(rd(kStatus), kAck | kDriver);
  wr(kStatus, kAck | kDriver | kFeaturesOk);
  EXPECT_EQ(rd(kStatus), kAck | kDriver | kFeaturesOk);
  setup_queue(0, q0_);
  wr(kStatus, kAck | kDriver | kFeaturesOk | kDriverOk);
  EXPECT_EQ(rd(kStatus), kAck | kDriver | kFeaturesOk | kDriverOk);
  EXPECT_TRUE(transport_.device_active());
  EXPECT_EQ(device_->activations, 1);
  EXPECT_EQ(device_->acked_features, kVersion1);
}

TEST_F(MmioTransportTest, SeveralStepsInOneWriteAreAccepted) {
  wr(kStatus, kAck | kDriver);
  EXPECT_EQ(rd(kStatus), kAck | kDriver);
}

TEST_F(MmioTransportTest, FeaturesNotOfferedAreRefused) {
  wr(kStatus, kAck);
  wr(kStatus, kAck | kDriver);
  ack_features(kVersion1 | (1ull << 7));  // bit 7 is not offered
  wr(kStatus, kAck | kDriver | kFeaturesOk);
  EXPECT_EQ(rd(kStatus) & kFeaturesOk, 0u);
  // The driver may try again with a subset the device takes.
  ack_features(kVersion1 | kDeviceFeatureBit3);
  wr(kStatus, kAck | kDriver | kFeaturesOk);
  EXPECT_NE(rd(kStatus) & kFeaturesOk, 0u);
}

TEST_F(MmioTransportTest, LegacyDriverWithoutVersion1IsRefused) {
  wr(kStatus, kAck);
  wr(kStatus, kAck | kDriver);
  ack_features(kEventIdx);
  wr(kStatus, kAck | kDriver | kFeaturesOk);
  EXPECT_EQ(rd(kStatus) & kFeaturesOk, 0u);
}

TEST_F(MmioTransportTest, FeatureBitsAbove63AreRefused) {
  wr(kStatus, kAck);
  wr(kStatus, kAck | kDriver);
  ack_features(kVersion1);
  wr(kDriverFeaturesSel, 2);
  wr(kDriverFeatures, 1);
  wr(kStatus, kAck | kDriver | kFeaturesOk);
  EXPECT_EQ(rd(kStatus) & kFeaturesOk, 0u);
}

TEST_F(MmioTransportTest, DriverFeaturesOnlyDuringNegotiation) {
  ack_features(kVersion1 | kEventIdx);  // before DRIVER: ignored
  wr(kStatus, kAck);
  wr(kStatus, kAck | kDriver);
  wr(kStatus, kAck | kDriver | kFeaturesOk);
  EXPECT_EQ(rd(kStatus) & kFeaturesOk, 0u) << "no VERSION_1 was accepted during negotiation";
  ack_features(kVersion1);
  wr(kStatus, kAck | kDriver | kFeaturesOk);
  ack_features(kVersion1 | kEventIdx);  // after FEATURES_OK: ignored
  setup_queue(0, q0_);
  wr(kStatus, kAck | kDriver | kFeaturesOk | kDriverOk);
  EXPECT_EQ(device_->acked_features, kVersion1);
}

TEST_F(MmioTransportTest, QueueRegisters) {
  wr(kQueueSel, 0);
  EXPECT_EQ(rd(kQueueNumMax), 16u);
  wr(kQueueSel, 1);
  EXPECT_EQ(rd(kQueueNumMax), 8u);
  wr(kQueueSel, 2);
  EXPECT_EQ(rd(kQueueNumMax), 0u) << "no such queue";
  EXPECT_EQ(rd(kQueueReady), 0u);

  negotiate();
  setup_queue(1, q1_);
  EXPECT_EQ(rd(kQueueReady), 1u);
  const VirtioMmioTransport::State s = transport_.save_state();
  EXPECT_EQ(s.queues[1].size, 8);
  EXPECT_EQ(s.queues[1].desc_table, q1_.desc_addr());
  EXPECT_EQ(s.queues[1].avail_ring, q1_.avail_addr());
  EXPECT_EQ(s.queues[1].used_ring, q1_.used_addr());
}

TEST_F(MmioTransportTest, QueueRegistersLockedOutsideSetup) {
  // Before FEATURES_OK.
  wr(kQueueSel, 0);
  wr(kQueueNum, 4);
  EXPECT_EQ(transport_.save_state().queues[0].size, 16) << "QueueNum before FEATURES_OK";
  wr(kQueueReady, 1);
  EXPECT_EQ(rd(kQueueReady), 0u);

  negotiate();
  setup_queue(0, q0_);
  // While ready.
  wr(kQueueNum, 4);
  wr(kQueueDescLow, 0x1234000);
  auto s = transport_.save_state();
  EXPECT_EQ(s.queues[0].size, 16);
  EXPECT_EQ(s.queues[0].desc_table, q0_.desc_addr());

  // Stopping a queue is allowed, and then it can be changed again.
  wr(kQueueReady, 0);
  EXPECT_EQ(rd(kQueueReady), 0u);
  wr(kQueueNum, 4);
  EXPECT_EQ(transport_.save_state().queues[0].size, 4);
  wr(kQueueNum, 16);
  wr(kQueueReady, 1);

  // After DRIVER_OK nothing of a queue's setup changes.
  wr(kStatus, kAck | kDriver | kFeaturesOk | kDriverOk);
  wr(kQueueSel, 1);
  wr(kQueueNum, 4);
  wr(kQueueReady, 1);
  EXPECT_EQ(rd(kQueueReady), 0u);
  EXPECT_EQ(transport_.save_state().queues[1].size, 8);
}

TEST_F(MmioTransportTest, NotifyBeforeDriverOkDoesNothing) {
  negotiate();
  setup_queue(0, q0_);
  q0_.add_chain({{0x40000, 16, false}});
  wr(kQueueNotify, 0);
  transport_.notify_queue(0);
  EXPECT_TRUE(device_->processed.empty());
  EXPECT_EQ(q0_.used_idx(), 0);
  transport_.process_device_event(1);
  EXPECT_TRUE(device_->events.empty());
}

TEST_F(MmioTransportTest, NotifyRunsTheDeviceAndInterrupts) {
  bring_up();
  q0_.add_chain({{0x40000, 16, false}});
  wr(kQueueNotify, 0);
  ASSERT_EQ(device_->processed.size(), 1u);
  EXPECT_EQ(q0_.used_idx(), 1);
  EXPECT_EQ(rd(kInterruptStatus), 1u);
  EXPECT_EQ(irq_->take(), 1);
  wr(kInterruptAck, 1);
  EXPECT_EQ(rd(kInterruptStatus), 0u);

  // The ioeventfd path does the same.
  q0_.add_chain({{0x40000, 16, false}}, 1);
  transport_.notify_queue(0);
  EXPECT_EQ(device_->processed.size(), 2u);
  EXPECT_EQ(q0_.used_idx(), 2);

  wr(kQueueNotify, 7);  // no such queue: ignored
  EXPECT_EQ(device_->processed.size(), 2u);
  transport_.process_device_event(9);
  EXPECT_EQ(device_->events, std::vector<uint32_t>{9});
}

TEST_F(MmioTransportTest, NotReadyQueueIsNotTouched) {
  bring_up();  // queue 1 never made ready
  wr(kQueueNotify, 1);
  ASSERT_EQ(device_->processed.size(), 1u);
  EXPECT_TRUE(transport_.device_active());
}

TEST_F(MmioTransportTest, NegotiatedFeaturesReachTheQueues) {
  bring_up(kVersion1 | kEventIdx | kIndirect);
  const auto s = transport_.save_state();
  EXPECT_EQ(s.queues[0].event_idx, 1);
  EXPECT_EQ(s.queues[0].indirect_desc, 1);
}

TEST_F(MmioTransportTest, ResetClearsEverything) {
  bring_up();
  q0_.add_chain({{0x40000, 16, false}});
  wr(kQueueNotify, 0);
  ASSERT_NE(rd(kInterruptStatus), 0u);
  const int resets_before = device_->resets;

  wr(kStatus, 0);
  EXPECT_EQ(rd(kStatus), 0u);
  EXPECT_EQ(rd(kInterruptStatus), 0u);
  EXPECT_FALSE(transport_.device_active());
  EXPECT_GT(device_->resets, resets_before);
  wr(kQueueSel, 0);
  EXPECT_EQ(rd(kQueueReady), 0u);
  const auto s = transport_.save_state();
  EXPECT_EQ(s.acked_features, 0u);
  EXPECT_EQ(s.queues[0].next_avail, 0);
  EXPECT_EQ(s.queues[0].desc_table, 0u);
  EXPECT_EQ(s.queues[0].size, 16);

  // Works again after a reset, from fresh rings.
  GuestQueue fresh(mem_, 16, 0x30000);
  negotiate();
  setup_queue(0, fresh);
  wr(kStatus, kAck | kDriver | kFeaturesOk | kDriverOk);
  fresh.add_chain({{0x40000, 16, false}});
  wr(kQueueNotify, 0);
  EXPECT_EQ(fresh.used_idx(), 1);
}

TEST_F(MmioTransportTest, QueueErrorAsksForReset) {
  bring_up();
  q0_.set_desc(0, 0x40000, 16, 1, 0);  // NEXT to itself: a loop
  q0_.publish(0);
  wr(kQueueNotify, 0);
  EXPECT_NE(rd(kStatus) & kNeedsReset, 0u);
  EXPECT_EQ(rd(kInterruptStatus), 2u) << "configuration change interrupt";
  EXPECT_EQ(irq_->take(), 1);
  EXPECT_FALSE(transport_.device_active());

  // The device stays off until reset, whatever the driver does.
  const size_t processed = device_->processed.size();
  wr(kQueueNotify, 0);
  EXPECT_EQ(device_->processed.size(), processed);
  // Writing back the status with NEEDS_RESET in it changes nothing.
  wr(kStatus, rd(kStatus));
  EXPECT_NE(rd(kStatus) & kNeedsReset, 0u);

  wr(kStatus, 0);
  EXPECT_EQ(rd(kStatus), 0u);
}

TEST_F(MmioTransportTest, DeviceErrorAsksForReset) {
  bring_up();
  device_->fail_process = true;
  wr(kQueueNotify, 0);
  EXPECT_NE(rd(kStatus) & kNeedsReset, 0u);
  EXPECT_FALSE(transport_.device_active());
}

TEST_F(MmioTransportTest, BadQueueSizeFailsActivation) {
  negotiate();
  setup_queue(0, q0_);
  wr(kQueueReady, 0);
  wr(kQueueNum, 12);  // not a power of two
  wr(kQueueReady, 1);
  wr(kStatus, kAck | kDriver | kFeaturesOk | kDriverOk);
  EXPECT_NE(rd(kStatus) & kNeedsReset, 0u);
  EXPECT_FALSE(transport_.device_active());
  EXPECT_EQ(device_->activations, 0);
}

TEST_F(MmioTransportTest, QueueOutsideMemoryFailsActivation) {
  negotiate();
  wr(kQueueSel, 0);
  wr(kQueueNum, 16);
  wr(kQueueDescLow, 0x0);
  wr(kQueueDescHigh, 0x1);  // 4 GiB: no memory there
  wr(kQueueDriverLow, static_cast<uint32_t>(q0_.avail_addr()));
  wr(kQueueDeviceLow, static_cast<uint32_t>(q0_.used_addr()));
  wr(kQueueReady, 1);
  wr(kStatus, kAck | kDriver | kFeaturesOk | kDriverOk);
  EXPECT_NE(rd(kStatus) & kNeedsReset, 0u);
}

TEST_F(MmioTransportTest, DeviceActivationFailureAsksForReset) {
  device_->fail_activate = true;
  bring_up();
  EXPECT_NE(rd(kStatus) & kNeedsReset, 0u);
  EXPECT_FALSE(transport_.device_active());
}

TEST_F(MmioTransportTest, FailedStatusSticksUntilReset) {
  wr(kStatus, kAck);
  wr(kStatus, kAck | kFailed);
  EXPECT_EQ(rd(kStatus), kAck | kFailed);
  wr(kStatus, kAck | kDriver | kFailed);
  EXPECT_EQ(rd(kStatus), kAck | kFailed);
  wr(kStatus, 0);
  EXPECT_EQ(rd(kStatus), 0u);
}

TEST_F(MmioTransportTest, ConfigSpaceIsByteGranular) {
  uint8_t b = 0;
  transport_.read(kConfig + 2, std::span<uint8_t>(&b, 1));
  EXPECT_EQ(b, 3);
  uint16_t h = 0;
  transport_.read(kConfig + 5, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&h), 2));
  EXPECT_EQ(h, 0x0706);
  EXPECT_EQ(rd(kConfig + 4), 0x08070605u);
  uint64_t q = 0;
  transport_.read(kConfig, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&q), 8));
  EXPECT_EQ(q, 0x0807060504030201ull);
  EXPECT_EQ(rd(kConfig + 0x40), 0u) << "past the device's config space";
  const uint8_t v = 0x99;
  transport_.write(kConfig + 1, std::span<const uint8_t>(&v, 1));
  EXPECT_EQ(device_->config[1], 0x99);
}

TEST_F(MmioTransportTest, ConfigChangeBumpsGeneration) {
  bring_up();
  const uint32_t before = rd(kConfigGeneration);
  device_->interrupt()->signal_config_change();
  EXPECT_NE(rd(kConfigGeneration), before);
  EXPECT_EQ(rd(kInterruptStatus), 2u);
  EXPECT_EQ(irq_->take(), 1);
}

TEST_F(MmioTransportTest, StateRoundTripReactivatesTheDevice) {
  bring_up(kVersion1 | kEventIdx | kIndirect);
  q0_.add_chain({{0x40000, 16, false}});
  wr(kQueueNotify, 0);
  const VirtioMmioTransport::State saved = transport_.save_state();
  EXPECT_EQ(saved.status, kAck | kDriver | kFeaturesOk | kDriverOk);
  EXPECT_EQ(saved.device_state, (std::vector<uint8_t>{7, 7}));
  EXPECT_EQ(saved.queues[0].next_avail, 1);

  auto device2 = std::make_shared<FakeDevice>();
  auto irq2 = std::make_shared<CountingIrqLine>();
  VirtioMmioTransport restored(device2, mem_, irq2);
  auto r = restored.restore_state(saved);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(restored.device_active());
  EXPECT_EQ(device2->activations, 1);
  EXPECT_EQ(device2->acked_features, kVersion1 | kEventIdx | kIndirect);
  EXPECT_EQ(device2->restored_state, (std::vector<uint8_t>{7, 7}));
  // It picks up where the first one stopped.
  q0_.add_chain({{0x40000, 16, false}}, 1);
  restored.notify_queue(0);
  EXPECT_EQ(q0_.used_idx(), 2);
  EXPECT_EQ(q0_.used_id(1), 1u);
}

TEST_F(MmioTransportTest, RestoreRefusesImpossibleStates) {
  bring_up();
  const VirtioMmioTransport::State good = transport_.save_state();

  auto bad = good;
  bad.queues.pop_back();
  EXPECT_FALSE(transport_.restore_state(bad).ok());
  bad = good;
  bad.status = kAck | kDriverOk;
  EXPECT_FALSE(transport_.restore_state(bad).ok());
  bad = good;
  bad.acked_features |= 1ull << 40;
  EXPECT_FALSE(transport_.restore_state(bad).ok());
  bad = good;
  bad.interrupt_status = 4;
  EXPECT_FALSE(transport_.restore_state(bad).ok());
  bad = good;
  bad.queues[0].size = 64;  // above QueueNumMax
  EXPECT_FALSE(transport_.restore_state(bad).ok());
  EXPECT_TRUE(transport_.device_active()) << "refused before anything changed";

  device_->fail_restore = true;
  EXPECT_FALSE(transport_.restore_state(good).ok());
  EXPECT_FALSE(transport_.device_active()) << "left reset after a late failure";
  EXPECT_EQ(rd(kStatus), 0u);
}

TEST_F(MmioTransportTest, ConcurrentNotifiesAndRegisterReads) {
  bring_up();
  std::thread vcpu([&] {
    for (int i = 0; i < 2000; ++i) (void)rd(kInterruptStatus), wr(kInterruptAck, 1);
  });
  for (uint16_t i = 0; i < 2000; ++i) {
    q0_.add_chain({{0x40000, 16, false}}, static_cast<uint16_t>(i % 16));
    transport_.notify_queue(0);
  }
  vcpu.join();
  EXPECT_EQ(q0_.used_idx(), static_cast<uint16_t>(2000));
  EXPECT_TRUE(transport_.device_active());
}

}  // namespace
}  // namespace ember
