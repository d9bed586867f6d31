// --resource-limit parsing, and setting the limits (in a child). No root needed.
#include "jailer/resource_limits.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

namespace ember::jailer {
namespace {

std::string error_of(std::string_view text) {
  ResourceLimits limits;
  auto r = parse_resource_limit(text, &limits);
  return r.ok() ? "" : r.error().message;
}

TEST(JailerResourceLimits, Defaults) {
  ResourceLimits limits;
  EXPECT_FALSE(limits.fsize);
  EXPECT_EQ(limits.no_file, 2048u);
}

TEST(JailerResourceLimits, FsizeAndNoFile) {
  ResourceLimits limits;
  ASSERT_TRUE(parse_resource_limit("fsize=250000000", &limits).ok());
  ASSERT_TRUE(parse_resource_limit("no-file=1024", &limits).ok());
  EXPECT_EQ(limits.fsize, 250000000u);
  EXPECT_EQ(limits.no_file, 1024u);
  ResourceLimits zero;
  ASSERT_TRUE(parse_resource_limit("fsize=0", &zero).ok());
  EXPECT_EQ(zero.fsize, 0u);
}

TEST(JailerResourceLimits, BadForms) {
  EXPECT_NE(error_of("fsize").find("expected <resource>=<value>"), std::string::npos);
  EXPECT_NE(error_of("nproc=10").find("unknown resource 'nproc'"), std::string::npos);
  EXPECT_NE(error_of("=10").find("unknown resource"), std::string::npos);
  EXPECT_NE(error_of("fsize=").find("empty number"), std::string::npos);
  EXPECT_NE(error_of("fsize=-1").find("not a decimal number"), std::string::npos);
  EXPECT_NE(error_of("fsize=1k").find("not a decimal number"), std::string::npos);
  EXPECT_NE(error_of("fsize= 1").find("not a decimal number"), std::string::npos);
  EXPECT_NE(error_of("fsize=18446744073709551616").find("too large"), std::string::npos);
  EXPECT_NE(error_of("fsize=18446744073709551615").find("too large"), std::string::npos) << "RLIM_INFINITY";
  EXPECT_NE(error_of("no-file=0").find("at least 1"), std::string::npos);
  // Every message names the argument.
  EXPECT_NE(error_of("nproc=10").find("--resource-limit 'nproc=10'"), std::string::npos);
}

TEST(JailerResourceLimits, GivenTwiceIsRefused) {
  ResourceLimits limits;
  ASSERT_TRUE(parse_resource_limit("fsize=1", &limits).ok());
  EXPECT_FALSE(parse_resource_limit("fsize=2", &limits).ok());
  ASSERT_TRUE(parse_resource_limit("no-file=5", &limits).ok());
  EXPECT_FALSE(parse_resource_limit("no-file=6", &limits).ok());
}

TEST(JailerResourceLimits, DecimalNumbers) {
  EXPECT_EQ(parse_decimal_u64("0").value(), 0u);
  EXPECT_EQ(parse_decimal_u64("18446744073709551615").value(), UINT64_MAX);
  EXPECT_FALSE(parse_decimal_u64("18446744073709551616").ok());
  EXPECT_FALSE(parse_decimal_u64("").ok());
}

// setrlimit would also bind this test process: each check runs in a child, which exits 0 if all
// is as expected.
void expect_in_child(const std::function<bool()>& check) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(check() ? 0 : 1);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

bool limit_is(int resource, rlim_t soft, rlim_t hard) {
  rlimit now{};
  getrlimit(resource, &now);
  return now.rlim_cur == soft && now.rlim_max == hard;
}

TEST(JailerResourceLimits, ApplySetsTheSoftLimitsAndLockTheHardOnes) {
  expect_in_child([] {
    rlimit files{};
    getrlimit(RLIMIT_NOFILE, &files);
    rlimit fsize{};
    getrlimit(RLIMIT_FSIZE, &fsize);
    ResourceLimits limits;
    limits.fsize = 4096;
    limits.no_file = 100;
    if (!apply_resource_limits(limits).ok()) return false;
    if (!limit_is(RLIMIT_FSIZE, 4096, fsize.rlim_max) || !limit_is(RLIMIT_NOFILE, 100, files.rlim_max)) return false;
    if (!lock_resource_limits(limits).ok()) return false;
    return limit_is(RLIMIT_FSIZE, 4096, 4096) && limit_is(RLIMIT_NOFILE, 100, 100);
  });
}

TEST(JailerResourceLimits, SavedLimitsComeBackAfterApply) {
  expect_in_child([] {
    rlimit files{};
    getrlimit(RLIMIT_NOFILE, &files);
    auto saved = SavedResourceLimits::save();
    if (!saved.ok()) return false;
    ResourceLimits limits;
    limits.no_file = 3;
    if (!apply_resource_limits(limits).ok()) return false;
    if (!saved->restore().ok()) return false;  // no privilege needed: only the soft limit moved
    return limit_is(RLIMIT_NOFILE, files.rlim_cur, files.rlim_max);
  });
}

}  // namespace
}  // namespace ember::jailer
