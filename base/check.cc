#include "base/check.h"

#include <cstdio>
#include <cstdlib>

namespace ember::detail {
void check_failed(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "ember: internal invariant broken at %s:%d: %s %s\n", file, line, expr, msg);
  std::abort();
}
}  // namespace ember::detail
