// Firecracker's --config-file: a JSON object whose sections are the bodies of the PUT requests
// that configure the same things. It becomes the same actions the API would make, followed by
// InstanceStart, so a file and the API can never disagree on what is valid.
#pragma once

#include <string_view>
#include <vector>

#include "vmm/controller/action.h"
#include "base/result.h"

namespace ember {

// Errors name the section (and entry) that was wrong: "drives[1]: ...".
[[nodiscard]] Result<std::vector<VmmAction>> parse_config_file(std::string_view json_text);

}  // namespace ember
