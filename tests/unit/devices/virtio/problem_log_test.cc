// ProblemLog: the rationed log of guest-caused problems every virtio device here keeps.
#include "devices/virtio/problem_log.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/devices/legacy/legacy_fakes.h"

namespace ember {
namespace {

using testing::LogCapture;

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(ProblemLogTest, LogsTheFirstProblemsThenSaysItGoesQuietOnce) {
  LogCapture log;
  ProblemLog problems(3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_FALSE(problems.quiet());
    problems.log("virtio-test dev0", "problem " + std::to_string(i));
  }
  EXPECT_FALSE(problems.quiet()) << "the going-quiet line is still to come";
  problems.log("virtio-test dev0", "problem 3");
  EXPECT_TRUE(problems.quiet());
  for (int i = 4; i < 100; ++i) problems.log("virtio-test dev0", "problem " + std::to_string(i));

  const std::string text = log.text();
  EXPECT_NE(text.find("virtio-test dev0: problem 0"), std::string::npos) << text;
  EXPECT_NE(text.find("virtio-test dev0: problem 2"), std::string::npos) << text;
  EXPECT_EQ(text.find("problem 3"), std::string::npos) << text;
  EXPECT_EQ(count(text, "virtio-test dev0: more problems; not logging them"), 1u) << text;
  EXPECT_EQ(count(text, "\n"), 4u) << "three problems and the going-quiet line: " << text;
  EXPECT_NE(text.find(":WARN]"), std::string::npos) << "problems are warnings: " << text;
}

TEST(ProblemLogTest, TheGoingQuietLineNamesTheKind) {
  LogCapture log;
  ProblemLog problems(1, "request problems");
  problems.log("virtio-block /disk", "short header");
  problems.log("virtio-block /disk", "short header again");
  const std::string text = log.text();
  EXPECT_NE(text.find("virtio-block /disk: short header\n"), std::string::npos) << text;
  EXPECT_NE(text.find("virtio-block /disk: more request problems; not logging them"),
            std::string::npos)
      << text;
}

TEST(ProblemLogTest, ALimitOfZeroOnlySaysItIsQuiet) {
  LogCapture log;
  ProblemLog problems(0);
  problems.log("dev", "first");
  problems.log("dev", "second");
  const std::string text = log.text();
  EXPECT_EQ(text.find("first"), std::string::npos) << text;
  EXPECT_EQ(count(text, "dev: more problems; not logging them"), 1u) << text;
}

}  // namespace
}  // namespace ember
