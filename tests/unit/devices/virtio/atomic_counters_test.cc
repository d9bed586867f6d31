#include "devices/virtio/atomic_counters.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <thread>
#include <vector>

namespace ember {
namespace {

struct TestCounters {
  uint64_t first = 0;
  uint64_t second = 0;
  uint64_t level = 0;
  uint64_t last = 0;
};

TEST(AtomicCounters, StartAtZero) {
  AtomicCounters<TestCounters> c;
  const TestCounters s = c.snapshot();
  EXPECT_EQ(s.first, 0u);
  EXPECT_EQ(s.second, 0u);
  EXPECT_EQ(s.level, 0u);
  EXPECT_EQ(s.last, 0u);
}

TEST(AtomicCounters, EachFieldCountsOnItsOwn) {
  AtomicCounters<TestCounters> c;
  c.add(&TestCounters::first);
  c.add(&TestCounters::second, 5);
  c.add(&TestCounters::second, 2);
  c.add(&TestCounters::last, 9);
  c.set(&TestCounters::level, 4);
  c.set(&TestCounters::level, 3);  // a level, not a total
  const TestCounters s = c.snapshot();
  EXPECT_EQ(s.first, 1u);
  EXPECT_EQ(s.second, 7u);
  EXPECT_EQ(s.level, 3u);
  EXPECT_EQ(s.last, 9u);
  EXPECT_EQ(c.get(&TestCounters::second), 7u);
  EXPECT_EQ(c.get(&TestCounters::last), 9u);
}

TEST(AtomicCounters, CountsFromManyThreads) {
  AtomicCounters<TestCounters> c;
  constexpr int kThreads = 4, kAdds = 10000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&c] {
      for (int i = 0; i < kAdds; ++i) {
        c.add(&TestCounters::first);
        c.add(&TestCounters::last, 2);
        (void)c.snapshot();
      }
    });
  for (auto& t : threads) t.join();
  const TestCounters s = c.snapshot();
  EXPECT_EQ(s.first, uint64_t{kThreads} * kAdds);
  EXPECT_EQ(s.last, 2 * uint64_t{kThreads} * kAdds);
  EXPECT_EQ(s.second, 0u);
}

}  // namespace
}  // namespace ember
