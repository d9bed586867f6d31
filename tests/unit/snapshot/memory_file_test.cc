#include "snapshot/memory_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "memory/guest_memory.h"
#include "base/file.h"

namespace ember {
namespace {

constexpr uint64_t kPage = kMemoryPageSize;

class MemoryFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("ember-mem-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path(const char* name) const { return (dir_ / name).string(); }

  static GuestMemory make_memory() {
    // Two regions with a gap, as ember lays out guests larger than the 32-bit hole.
    auto m = GuestMemory::create_anonymous({{0, 16 * kPage}, {1ull << 32, 8 * kPage}});
    EXPECT_TRUE(m.ok());
    return std::move(m).value();
  }
  static std::vector<uint8_t> read(const std::string& p) { return *read_file(p, 1 << 30); }

  std::filesystem::path dir_;
};

void put(const GuestMemory& mem, uint64_t addr, uint8_t value) {
  ASSERT_TRUE(mem.fill(addr, value, kPage).ok());
}

void mark(DirtyBitmaps& dirty, size_t region, uint64_t page) { dirty[region][page / 64] |= 1ull << (page % 64); }

TEST_F(MemoryFileTest, FullFileHoldsRegionsBackToBack) {
  GuestMemory mem = make_memory();
  put(mem, 3 * kPage, 0xaa);
  put(mem, (1ull << 32) + 2 * kPage, 0xbb);
  ASSERT_TRUE(write_memory_file(path("full"), mem).ok());
  const auto bytes = read(path("full"));
  ASSERT_EQ(bytes.size(), 24 * kPage);
  EXPECT_EQ(bytes[3 * kPage], 0xaa);
  EXPECT_EQ(bytes[(16 + 2) * kPage + 17], 0xbb);
  EXPECT_EQ(bytes[5 * kPage], 0);
}

TEST_F(MemoryFileTest, DiffAppliedOntoItsBaseEqualsAFullSnapshot) {
  GuestMemory mem = make_memory();
  for (uint64_t p = 0; p < 16; ++p) put(mem, p * kPage, static_cast<uint8_t>(p + 1));
  ASSERT_TRUE(write_memory_file(path("base"), mem).ok());

  DirtyBitmaps dirty = {std::vector<uint64_t>(1), std::vector<uint64_t>(1)};
  put(mem, 4 * kPage, 0x44);
  mark(dirty, 0, 4);
  put(mem, 7 * kPage, 0x00);  // a page that became zero must still be carried by the diff
  mark(dirty, 0, 7);
  put(mem, (1ull << 32) + 5 * kPage, 0x55);
  mark(dirty, 1, 5);
  ASSERT_TRUE(write_memory_diff_file(path("diff"), mem, dirty).ok());
  ASSERT_TRUE(write_memory_file(path("full"), mem).ok());

  ASSERT_TRUE(apply_memory_diff(path("base"), path("diff")).ok());
  EXPECT_EQ(read(path("base")), read(path("full")));
}

TEST_F(MemoryFileTest, DiffHoldsOnlyDirtyPages) {
  GuestMemory mem = make_memory();
  for (uint64_t p = 0; p < 16; ++p) put(mem, p * kPage, 0x11);
  DirtyBitmaps dirty = {std::vector<uint64_t>(1), std::vector<uint64_t>(1)};
  mark(dirty, 0, 2);
  ASSERT_TRUE(write_memory_diff_file(path("diff"), mem, dirty).ok());
  const auto bytes = read(path("diff"));
  ASSERT_EQ(bytes.size(), 24 * kPage);
  EXPECT_EQ(bytes[2 * kPage], 0x11);
  EXPECT_EQ(bytes[3 * kPage], 0);
}

TEST_F(MemoryFileTest, RefusesMismatchedInputs) {
  GuestMemory mem = make_memory();
  EXPECT_FALSE(write_memory_diff_file(path("diff"), mem, DirtyBitmaps(1)).ok());
  EXPECT_FALSE(std::filesystem::exists(path("diff")));
  ASSERT_TRUE(write_memory_file(path("a"), mem).ok());
  auto small = GuestMemory::create_anonymous({{0, 4 * kPage}});
  ASSERT_TRUE(write_memory_file(path("b"), *small).ok());
  auto r = apply_memory_diff(path("a"), path("b"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("bytes"), std::string::npos);
  EXPECT_FALSE(apply_memory_diff(path("a"), path("missing")).ok());
}

}  // namespace
}  // namespace ember
