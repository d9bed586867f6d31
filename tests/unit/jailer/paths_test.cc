// Where a jail's files go. No root needed.
#include "jailer/paths.h"

#include <gtest/gtest.h>

namespace ember::jailer {
namespace {

TEST(JailerPaths, FirecrackersLayout) {
  auto p = build_jail_paths("/srv/jailer", "ember-static", "551e7604-e35c");
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->instance_dir, "/srv/jailer/ember-static/551e7604-e35c");
  EXPECT_EQ(p->chroot_dir, "/srv/jailer/ember-static/551e7604-e35c/root");
  EXPECT_EQ(p->exec_on_host, "/srv/jailer/ember-static/551e7604-e35c/root/ember-static");
  EXPECT_EQ(p->exec_in_jail, "/ember-static");
  EXPECT_EQ(p->pid_file_in_jail, "/ember-static.pid");
}

TEST(JailerPaths, RootAsBase) {
  auto p = build_jail_paths("/", "ember", "a");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->chroot_dir, "/ember/a/root");
}

TEST(JailerPaths, TooLongIsRefused) {
  const std::string base = "/" + std::string(4090, 'b');
  auto p = build_jail_paths(base, "ember", "a");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("too long"), std::string::npos);
}

TEST(JailerPaths, FileNameOf) {
  EXPECT_EQ(file_name_of("/usr/bin/ember-static").value(), "ember-static");
  EXPECT_EQ(file_name_of("ember").value(), "ember");
  EXPECT_EQ(file_name_of("./bin/ember").value(), "ember");
  for (const char* bad : {"", "/", "/usr/bin/", ".", "..", "/a/..", "/a/."}) EXPECT_FALSE(file_name_of(bad).ok()) << bad;
}

TEST(JailerPaths, NormalizeAbsolute) {
  EXPECT_EQ(normalize_absolute("/srv/jailer", "/home"), "/srv/jailer");
  EXPECT_EQ(normalize_absolute("jails", "/home/me"), "/home/me/jails");
  EXPECT_EQ(normalize_absolute("./a//b/../c/", "/x"), "/x/a/c");
  EXPECT_EQ(normalize_absolute("../../../..", "/x/y"), "/");
  EXPECT_EQ(normalize_absolute("/", "/x"), "/");
  EXPECT_EQ(normalize_absolute("", "/x"), "/x");
}

}  // namespace
}  // namespace ember::jailer
