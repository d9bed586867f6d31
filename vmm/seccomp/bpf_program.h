// A seccomp filter compiled to a classic BPF program (by libseccomp) and installed on a thread.
#pragma once

#include <linux/filter.h>

#include <cstddef>
#include <vector>

#include "vmm/seccomp/filter.h"
#include "base/result.h"

namespace ember::seccomp {

class BpfProgram {
 public:
  // Compiles `filter` for x86-64: any other architecture's calls (32-bit int 0x80, x32) kill
  // the process. Fails with a message naming the rule libseccomp refuses, or when the program
  // exceeds the kernel's limit of 4096 instructions.
  [[nodiscard]] static Result<BpfProgram> compile(const Filter& filter);

  // Confines the calling thread (setting no_new_privs first, as an unprivileged filter needs);
  // threads it creates afterwards inherit the filter. Irreversible.
  [[nodiscard]] Result<void> install() const;

  [[nodiscard]] size_t instruction_count() const { return code_.size(); }

 private:
  explicit BpfProgram(std::vector<sock_filter> code) : code_(std::move(code)) {}
  std::vector<sock_filter> code_;
};

}  // namespace ember::seccomp
