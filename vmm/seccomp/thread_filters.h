// Which filter each kind of ember thread installs, for the whole process.
//
// main() compiles the filters (built-in, or from --seccomp-filter) and hands them over with
// set_thread_filters() before it starts any thread; each thread then calls
// install_thread_filter() for its own kind at its hook point (see vmm/seccomp/README.md). Until
// set_thread_filters() is called (unit tests, --no-seccomp) install_thread_filter() does nothing.
#pragma once

#include <optional>
#include <string>

#include "vmm/seccomp/bpf_program.h"
#include "vmm/seccomp/filter.h"
#include "base/result.h"

namespace ember::seccomp {

struct ThreadPrograms {
  std::optional<BpfProgram> vmm;
  std::optional<BpfProgram> api;
  std::optional<BpfProgram> vcpu;
};

// Compiles the filter of every thread kind; the error names the kind ("vcpu: ...").
[[nodiscard]] Result<ThreadPrograms> compile_thread_programs(const FilterSet& filters);

// The built-in filters compiled (`filter_file` empty), or those of a filter file (see
// filter_file.h). Errors name the file and the field.
[[nodiscard]] Result<ThreadPrograms> load_thread_programs(const std::string& filter_file);

// Sets the programs install_thread_filter() uses (none: threads stay unconfined). Call it before
// any thread that installs one exists.
void set_thread_filters(ThreadPrograms programs);

// Confines the calling thread with its kind's program, if there is one.
[[nodiscard]] Result<void> install_thread_filter(ThreadKind kind);

}  // namespace ember::seccomp
