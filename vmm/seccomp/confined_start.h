// Starting a built microVM so that no guest code runs before every thread is confined.
#pragma once

#include "base/result.h"

namespace ember {
class Vm;
}

namespace ember::seccomp {

// Call on the VMM thread once the VM is built (InstanceStart, or a snapshot restore): starts
// the vCPU threads parked (each installs the vCPU filter as it starts), installs the VMM filter
// on the calling thread, and then lets the vCPUs run, unless `leave_paused` (a restored VM that
// stays paused: Vm::resume() runs it later). If the VMM filter cannot be installed, the vCPUs
// stay parked and the error is returned: the caller stops the VM.
[[nodiscard]] Result<void> start_vm_confined(Vm& vm, bool leave_paused = false);

}  // namespace ember::seccomp
