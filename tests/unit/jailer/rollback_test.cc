// The undo of a refused jail, on plain directories and files (cgroup and mount namespace steps
// are exercised by the root tests in tests/jailer/). No root needed.
#include "jailer/rollback.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "jailer/fs_util.h"
#include "tests/unit/jailer/temp_directory.h"

namespace ember::jailer {
namespace {

using test::TempDirectory;

TEST(JailerRollback, UndoRemovesWhatWasRecordedNewestFirst) {
  TempDirectory dir;
  const std::string base = dir.path() + "/base";
  auto created = make_directories(base + "/ember/vm/root", 0755);
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(created->size(), 4u);
  std::ofstream(base + "/ember/vm/root/file") << "x";
  std::vector<std::string> reports;
  {
    Rollback rollback([&](const std::string& m) { reports.push_back(m); });
    rollback.remove_if_empty(base);
    rollback.remove_if_empty(base + "/ember");
    rollback.remove_tree(base + "/ember/vm");
    rollback.remove_file(base + "/ember/vm/root/file");
    // A neighbour made by another run after ours: the shared level must stay for it.
    ASSERT_EQ(mkdir((base + "/ember/other").c_str(), 0755), 0);
    rollback.undo();
  }
  EXPECT_TRUE(reports.empty()) << reports.front();
  EXPECT_FALSE(path_exists(base + "/ember/vm"));
  EXPECT_TRUE(path_exists(base + "/ember/other"));
  EXPECT_TRUE(path_exists(base));
}

TEST(JailerRollback, DestructorUndoesUnlessDismissed) {
  TempDirectory dir;
  const std::string a = dir.path() + "/a";
  const std::string b = dir.path() + "/b";
  ASSERT_EQ(mkdir(a.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(b.c_str(), 0755), 0);
  {
    Rollback rollback;
    rollback.remove_tree(a);
  }
  {
    Rollback rollback;
    rollback.remove_tree(b);
    rollback.dismiss();
  }
  EXPECT_FALSE(path_exists(a));
  EXPECT_TRUE(path_exists(b));
}

TEST(JailerRollback, FailuresAreReportedAndTheRestStillRuns) {
  TempDirectory dir;
  const std::string plain = dir.path() + "/plain";
  ASSERT_EQ(mkdir(plain.c_str(), 0755), 0);
  std::ofstream(plain + "/inside") << "x";
  std::vector<std::string> reports;
  Rollback rollback([&](const std::string& m) { reports.push_back(m); });
  rollback.remove_tree(plain);
  rollback.remove_cgroup(plain);  // rmdir of a non-empty directory fails: reported
  rollback.remove_file(dir.path() + "/never-made");  // already gone: fine
  rollback.undo();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_NE(reports[0].find("cannot remove cgroup " + plain), std::string::npos) << reports[0];
  EXPECT_FALSE(path_exists(plain));
  rollback.undo();  // a second undo does nothing
  EXPECT_EQ(reports.size(), 1u);
}

TEST(JailerRollback, ProcessStateComesBackBeforeTheOtherSteps) {
  TempDirectory dir;
  const std::string d = dir.path() + "/d";
  ASSERT_EQ(mkdir(d.c_str(), 0755), 0);
  bool existed_when_restored = false;
  {
    Rollback rollback;
    rollback.remove_tree(d);
    rollback.restore_process_state([&]() -> Result<void> {
      existed_when_restored = path_exists(d);
      return {};
    });
  }
  EXPECT_TRUE(existed_when_restored);
  EXPECT_FALSE(path_exists(d));
}

TEST(JailerRollback, RestoresOwnerAndMode) {
  TempDirectory dir;
  const std::string p = dir.path() + "/root";
  ASSERT_EQ(mkdir(p.c_str(), 0755), 0);
  struct stat before {};
  stat(p.c_str(), &before);
  {
    Rollback rollback;
    rollback.restore_owner(p, before.st_uid, before.st_gid, 0751);
  }
  struct stat after {};
  stat(p.c_str(), &after);
  EXPECT_EQ(after.st_mode & 07777, 0751u);
  EXPECT_EQ(after.st_uid, before.st_uid);
}

// A directory the operator prepared (Kata Containers' <chroot>/run): the undo empties it and
// keeps it.
TEST(JailerRollback, EmptyDirectoryKeepsThePreparedDirectory) {
  TempDirectory dir;
  const std::string run = dir.path() + "/run";
  ASSERT_TRUE(std::filesystem::create_directories(run + "/sub/deeper"));
  std::ofstream(run + "/sock") << "x";
  std::ofstream(run + "/sub/deeper/f") << "y";
  {
    Rollback rollback;
    rollback.empty_directory(run);
  }
  EXPECT_TRUE(std::filesystem::is_directory(run));
  EXPECT_TRUE(std::filesystem::is_empty(run));
  Rollback missing;
  missing.empty_directory(dir.path() + "/absent");  // nothing there: no error, nothing made
  missing.undo();
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/absent"));
}

}  // namespace
}  // namespace ember::jailer
