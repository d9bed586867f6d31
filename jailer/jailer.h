// ember-jailer's steps, in Firecracker's jailer order (docs in jailer/README.md): validate, build
// the chroot, join the network namespace, set rlimits, make and join the cgroups, pivot into the
// chroot, make the device nodes, (new pid namespace,) (daemonize,) drop to uid/gid, exec.
#pragma once

#include "jailer/args.h"

namespace ember::jailer {

// Sets up the jail for parsed arguments and execs the target in it. Returns only when it could
// not, after printing one line and undoing what it had set up, with a status from exit_codes.h.
// With --new-pid-ns the process that stays outside the new namespace ends itself once the child
// has exec'd: status 0 with --daemonize, otherwise the child's own status when it ends (128 +
// signal if it was killed).
[[nodiscard]] int run_jailer(const JailerArgs& args);

}  // namespace ember::jailer
