// ember-jailer: Firecracker's jailer for ember. See jailer/README.md.
#include <cstdio>
#include <string>
#include <vector>

#include "jailer/args.h"
#include "jailer/exit_codes.h"
#include "jailer/jailer.h"
#include "jailer/process_state.h"

int main(int argc, char** argv) {
  // Before anything else: nothing the caller left open or set may reach the jail.
  if (auto closed = ember::jailer::close_inherited_fds(); !closed) {
    std::fprintf(stderr, "ember-jailer: %s\n", closed.error().message.c_str());
    return ember::jailer::kExitSetupFailed;
  }
  ember::jailer::clear_environment();

  const std::vector<std::string> args(argv, argv + argc);
  auto command_line = ember::jailer::parse_command_line(args);
  if (!command_line) {
    std::fprintf(stderr, "ember-jailer: %s\n", command_line.error().message.c_str());
    return ember::jailer::kExitUsage;
  }
  if (command_line->help) {
    std::fputs(command_line->help_text.c_str(), stdout);
    return 0;
  }
  return ember::jailer::run_jailer(command_line->args);
}
