// The boot-source and machine-config sections, from JSON (the API's PUT /boot-source and PUT
// /machine-config bodies and the config file's sections have the same shape). Errors name the key.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "base/result.h"
#include "config/vm_config.h"

namespace ember {

[[nodiscard]] Result<BootSourceConfig> parse_boot_source(const nlohmann::json& obj);
[[nodiscard]] Result<MachineConfig> parse_machine_config(const nlohmann::json& obj);

}  // namespace ember
