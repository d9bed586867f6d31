// CHECK: a broken internal invariant aborts loudly. Never use it on guest, API or file input.
#pragma once

namespace ember::detail {
[[noreturn]] void check_failed(const char* expr, const char* file, int line, const char* msg);
}

#define CHECK(cond)                                                       \
  do {                                                                    \
    if (!(cond)) ::ember::detail::check_failed(#cond, __FILE__, __LINE__, ""); \
  } while (0)
#define CHECK_MSG(cond, msg)                                                  \
  do {                                                                        \
    if (!(cond)) ::ember::detail::check_failed(#cond, __FILE__, __LINE__, msg); \
  } while (0)
