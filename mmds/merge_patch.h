// RFC 7396 JSON Merge Patch, as Firecracker applies PATCH /mmds to its store (its json_patch):
// an object patch merges key by key (a null value removes the key, an object value merges into
// the target's value, anything else replaces it); any other patch replaces the target whole.
#pragma once

#include <nlohmann/json.hpp>

namespace ember {

// Applies `patch` to `target` in place. Walks with an explicit stack, not recursion: both come
// from the host and may nest as deep as their size allows.
void merge_patch(nlohmann::json& target, const nlohmann::json& patch);

}  // namespace ember
