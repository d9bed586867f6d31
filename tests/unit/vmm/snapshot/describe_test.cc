// The state file header reader behind --describe-snapshot / --snapshot-version.
#include "vmm/snapshot/describe.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "snapshot/state_file.h"

namespace ember {
namespace {

class DescribeSnapshot : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ember-describe-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::vector<uint8_t>& bytes) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                static_cast<std::streamsize>(bytes.size()));
    return path;
  }
  std::string dir_;
};

TEST(SnapshotVersionString, FirecrackerShape) {
  EXPECT_EQ(snapshot_version_string(1), "v1.0.0");
  EXPECT_EQ(snapshot_version_string(4294967295u), "v4294967295.0.0");
  EXPECT_EQ(supported_snapshot_version(), "v" + std::to_string(kSnapshotFormatVersion) + ".0.0");
}

TEST_F(DescribeSnapshot, ReadsTheVersionOfAWrittenStateFile) {
  const std::vector<uint8_t> payload = {1, 2, 3, 4, 5};
  const std::string path = dir_ + "/vm.state";
  ASSERT_TRUE(write_state_file(path, payload));
  auto v = read_snapshot_format_version(path);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(*v, kSnapshotFormatVersion);
}

// Another version (one this ember would refuse to load) is still described, as Firecracker's
// get_format_version reports any version it finds; neither the payload nor the CRC is read.
TEST_F(DescribeSnapshot, DescribesOtherVersionsWithoutCheckingTheBody) {
  auto bytes = encode_state_file(std::vector<uint8_t>(100, 7), 0x01020304u);
  bytes.back() ^= 0xff;  // a bad CRC
  auto v = read_snapshot_format_version(write("other.state", bytes));
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(*v, 0x01020304u);
  // Only the header: a file holding just the 24 header bytes is enough.
  bytes.resize(24);
  v = read_snapshot_format_version(write("header-only.state", bytes));
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(*v, 0x01020304u);
}

TEST_F(DescribeSnapshot, MissingFile) {
  auto v = read_snapshot_format_version(dir_ + "/nope");
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("cannot open"), std::string::npos) << v.error().message;
  EXPECT_NE(v.error().message.find("No such file"), std::string::npos) << v.error().message;
}

TEST_F(DescribeSnapshot, EmptyFile) {
  auto v = read_snapshot_format_version(write("empty", {}));
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("is empty"), std::string::npos) << v.error().message;
}

TEST_F(DescribeSnapshot, NotASnapshot) {
  const std::string text = "{\"boot-source\": {}}\n";
  auto v = read_snapshot_format_version(write("config.json", std::vector<uint8_t>(text.begin(), text.end())));
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("not an ember snapshot state file"), std::string::npos) << v.error().message;
  // Shorter than the magic and not a prefix of it: foreign, not truncated.
  v = read_snapshot_format_version(write("short", {'x', 'y'}));
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("not an ember snapshot state file"), std::string::npos) << v.error().message;
}

TEST_F(DescribeSnapshot, TruncatedHeader) {
  const auto full = encode_state_file(std::vector<uint8_t>(10, 1));
  for (const size_t size : {size_t{3}, size_t{8}, size_t{12}, size_t{23}}) {
    auto v = read_snapshot_format_version(write("cut", std::vector<uint8_t>(full.begin(), full.begin() + size)));
    ASSERT_FALSE(v) << size;
    EXPECT_NE(v.error().message.find("truncated"), std::string::npos) << size << ": " << v.error().message;
  }
}

TEST_F(DescribeSnapshot, NotARegularFile) {
  auto v = read_snapshot_format_version(dir_);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("not a regular file"), std::string::npos) << v.error().message;
  // A FIFO with no writer: refused at once, never waited on.
  const std::string fifo = dir_ + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  v = read_snapshot_format_version(fifo);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().message.find("not a regular file"), std::string::npos) << v.error().message;
}

}  // namespace
}  // namespace ember
