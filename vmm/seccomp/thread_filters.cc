#include "vmm/seccomp/thread_filters.h"

#include <malloc.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "vmm/seccomp/builtin_filters.h"
#include "vmm/seccomp/filter_file.h"
#include "base/file.h"

namespace ember::seccomp {
namespace {

// Firecracker's own filter files are about 40 KiB.
constexpr uint64_t kMaxFilterFileSize = 1 << 20;

struct Registry {
  std::mutex lock;
  // Shared: a thread installing from it keeps it alive even if main() replaces it meanwhile.
  std::shared_ptr<const ThreadPrograms> programs;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

Result<ThreadPrograms> compile_thread_programs(const FilterSet& filters) {
  ThreadPrograms out;
  for (ThreadKind kind : kAllThreadKinds) {
    auto program = BpfProgram::compile(filters.of(kind));
    if (!program) return with_context(std::string(thread_kind_name(kind)), program.error());
    switch (kind) {
      case ThreadKind::kVmm: out.vmm = std::move(program).value(); break;
      case ThreadKind::kApi: out.api = std::move(program).value(); break;
      case ThreadKind::kVcpu: out.vcpu = std::move(program).value(); break;
    }
  }
  return out;
}

Result<ThreadPrograms> load_thread_programs(const std::string& filter_file) {
  if (filter_file.empty()) return compile_thread_programs(builtin_filters());
  auto text = read_file(filter_file, kMaxFilterFileSize);
  if (!text) return text.error();
  auto filters = parse_filter_file(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()));
  if (!filters) return with_context(filter_file, filters.error());
  auto programs = compile_thread_programs(*filters);
  if (!programs) return with_context(filter_file, programs.error());
  return programs;
}

void set_thread_filters(ThreadPrograms programs) {
  // glibc gives other threads arenas of their own, and shrinking one (after a large request
  // body, say) first reads /proc/sys/vm/overcommit_memory: an openat no thread filter allows
  // (the API thread died of SIGSYS on a 50 KiB body; Firecracker's test_map_private_seccomp_
  // regression is about the same kind of death). One arena for all threads needs only brk and
  // mmap, which every filter allows; set before any thread starts.
  ::mallopt(M_ARENA_MAX, 1);
  auto shared = std::make_shared<const ThreadPrograms>(std::move(programs));
  std::lock_guard<std::mutex> g(registry().lock);
  registry().programs = std::move(shared);
}

Result<void> install_thread_filter(ThreadKind kind) {
  std::shared_ptr<const ThreadPrograms> programs;
  {
    std::lock_guard<std::mutex> g(registry().lock);
    programs = registry().programs;
  }
  if (!programs) return {};
  const std::optional<BpfProgram>& program =
      kind == ThreadKind::kVmm ? programs->vmm : kind == ThreadKind::kApi ? programs->api : programs->vcpu;
  if (!program) return {};
  auto r = program->install();
  if (!r) return with_context(std::string("the ") + std::string(thread_kind_name(kind)) + " thread's filter", r.error());
  return {};
}

}  // namespace ember::seccomp
