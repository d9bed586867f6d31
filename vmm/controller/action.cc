#include "vmm/controller/action.h"

#include <array>

namespace ember {
namespace {

// In the order of the variant's alternatives; the static_assert keeps the two in step.
constexpr std::array<std::string_view, 25> kActionNames = {
    "GetInstanceInfo", "GetVersion",   "GetMachineConfig",    "PutMachineConfig",
    "PatchMachineConfig", "PutBootSource", "PutDrive",         "PatchDrive",
    "PutNetworkInterface", "PatchNetworkInterface", "PutVsock", "InstanceStart",
    "SendCtrlAltDel", "FlushMetrics",  "PatchVm",             "GetVmConfig",
    "PutLogger",       "PutMetrics",   "CreateSnapshot",      "LoadSnapshot",
    "PutCpuConfig",    "PutMmds",      "PatchMmds",           "GetMmds",
    "PutMmdsConfig",
};
static_assert(kActionNames.size() == std::variant_size_v<VmmAction>);

}  // namespace

std::string_view action_name(const VmmAction& action) { return kActionNames[action.index()]; }

}  // namespace ember
