// The jailer's small file helpers. No root needed.
#include "jailer/fs_util.h"
#include "tests/unit/jailer/temp_directory.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace ember::jailer {
namespace {

using test::TempDirectory;

TEST(JailerFsUtil, MakeDirectoriesReportsWhatItMade) {
  TempDirectory dir;
  auto made = make_directories(dir.path() + "/a/b/c", 0755);
  ASSERT_TRUE(made.ok()) << made.error().message;
  EXPECT_EQ(*made, (std::vector<std::string>{dir.path() + "/a", dir.path() + "/a/b", dir.path() + "/a/b/c"}));
  auto again = make_directories(dir.path() + "/a/b/c/", 0755);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

TEST(JailerFsUtil, MakeDirectoriesUndoesItselfOnFailure) {
  TempDirectory dir;
  std::ofstream(dir.path() + "/file") << "x";
  // "made" is created, then "made/../file" is a file: the call fails and removes "made" again.
  auto refused = make_directories(dir.path() + "/made/../file/x", 0755);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("not a directory"), std::string::npos);
  EXPECT_FALSE(path_exists(dir.path() + "/made"));
  EXPECT_FALSE(make_directories("relative/path", 0755).ok());
}

TEST(JailerFsUtil, ReadAndWrite) {
  TempDirectory dir;
  const std::string p = dir.path() + "/f";
  EXPECT_FALSE(write_existing_file(p, "x").ok()) << "never creates";
  std::ofstream(p) << "old";
  ASSERT_TRUE(write_existing_file(p, "new").ok());
  EXPECT_EQ(read_text_file(p, 100).value(), "new");
  EXPECT_FALSE(read_text_file(p, 2).ok());
  EXPECT_TRUE(read_text_file("/proc/self/mounts", 1 << 22).ok()) << "files that report no size";
  EXPECT_TRUE(path_exists(p));
  EXPECT_FALSE(path_exists(dir.path() + "/nothing"));
  ASSERT_EQ(symlink("/nonexistent", (dir.path() + "/dangling").c_str()), 0);
  EXPECT_TRUE(path_exists(dir.path() + "/dangling"));
}

TEST(JailerFsUtil, IsEmptyDirectory) {
  test::TempDirectory dir;
  const std::string d = dir.path() + "/d";
  EXPECT_FALSE(is_empty_directory(d));
  ASSERT_TRUE(std::filesystem::create_directory(d));
  EXPECT_TRUE(is_empty_directory(d));
  std::filesystem::create_directory_symlink(d, dir.path() + "/link");
  EXPECT_FALSE(is_empty_directory(dir.path() + "/link")) << "a symlink is no prepared directory";
  std::ofstream(d + "/f") << "x";
  EXPECT_FALSE(is_empty_directory(d));
  EXPECT_FALSE(is_empty_directory(d + "/f"));
}

}  // namespace
}  // namespace ember::jailer
