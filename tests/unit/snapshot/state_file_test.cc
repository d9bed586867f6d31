#include "snapshot/state_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace ember {
namespace {

std::vector<uint8_t> payload() {
  std::vector<uint8_t> p(1000);
  for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<uint8_t>(i * 7);
  return p;
}

TEST(StateFile, RoundTrips) {
  const auto file = encode_state_file(payload());
  auto back = decode_state_file(file);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, payload());
}

TEST(StateFile, RefusesEveryTruncation) {
  const auto file = encode_state_file(payload());
  for (size_t n : {size_t{0}, size_t{4}, size_t{8}, size_t{23}, size_t{31}, file.size() - 1}) {
    auto r = decode_state_file(std::span<const uint8_t>(file).first(n));
    EXPECT_FALSE(r.ok()) << n;
  }
  auto cut = decode_state_file(std::span<const uint8_t>(file).first(file.size() - 100));
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.error().message.find("truncated"), std::string::npos) << cut.error().message;
}

TEST(StateFile, RefusesAnyCorruptedByte) {
  const auto good = encode_state_file(payload());
  for (size_t i = 24; i < good.size(); i += 37) {
    auto bad = good;
    bad[i] ^= 0x01;
    auto r = decode_state_file(bad);
    ASSERT_FALSE(r.ok()) << i;
  }
  auto bad = good;
  bad[500] ^= 0x80;
  EXPECT_NE(decode_state_file(bad).error().message.find("CRC"), std::string::npos);
}

TEST(StateFile, RefusesAnotherFormatVersionByName) {
  const auto file = encode_state_file(payload(), kSnapshotFormatVersion + 1);
  auto r = decode_state_file(file);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("format version 2"), std::string::npos) << r.error().message;
}

TEST(StateFile, RefusesForeignFilesAndTrailingBytes) {
  std::vector<uint8_t> elf = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_NE(decode_state_file(elf).error().message.find("magic"), std::string::npos);
  auto longer = encode_state_file(payload());
  longer.push_back(0);
  EXPECT_FALSE(decode_state_file(longer).ok());
}

TEST(StateFile, WritesAtomicallyAndReadsBack) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("ember-state-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "vm.state").string();
  ASSERT_TRUE(write_state_file(path, payload()).ok());
  auto back = read_state_file(path);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, payload());
  // No temporary file is left next to it.
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) files += e.is_regular_file() ? 1 : 0;
  EXPECT_EQ(files, 1u);
  // A write that cannot happen leaves the old file as it was.
  EXPECT_FALSE(write_state_file((dir / "missing" / "vm.state").string(), payload()).ok());
  EXPECT_EQ(*read_state_file(path), payload());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ember
