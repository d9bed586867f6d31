// Rationed logging of the problems a guest (or a device's backend) causes: malformed requests,
// writes to read-only config space, refused connections... A driver can cause such a problem
// as often as it likes, and every one logged is a line in the host's log: a device logs the
// first few, then one line saying it goes quiet, then nothing more for its lifetime.
//
// Threads: none of its own; a device uses it under the lock its other state needs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/log.h"

namespace ember {

class ProblemLog {
 public:
  // Logs up to `limit` problems. `kind` names them in the going-quiet line ("more <kind>; not
  // logging them"); a string literal, as it is kept.
  explicit constexpr ProblemLog(uint32_t limit, std::string_view kind = "problems")
      : limit_(limit), kind_(kind) {}

  // Whether log() would write nothing, so a caller can skip composing its line.
  [[nodiscard]] bool quiet() const { return logged_ > limit_; }

  // A warning "<source>: <problem>" for each of the first `limit` problems, then
  // "<source>: more <kind>; not logging them" once, then nothing.
  void log(std::string_view source, std::string_view problem) {
    if (quiet()) return;
    ++logged_;  // at most limit + 1: cannot wrap
    std::string line(source);
    line += ": ";
    if (quiet()) {
      line += "more ";
      line += kind_;
      line += "; not logging them";
    } else {
      line += problem;
    }
    log_warn(line);
  }

 private:
  uint32_t limit_;
  std::string_view kind_;
  uint32_t logged_ = 0;
};

}  // namespace ember
