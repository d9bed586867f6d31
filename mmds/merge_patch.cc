#include "mmds/merge_patch.h"

#include <utility>
#include <vector>

#include "mmds/json_tools.h"

namespace ember {

using nlohmann::json;

void merge_patch(json& target, const json& patch) {
  // Pending (target, patch) pairs. A target pointer stays valid while it waits: it is a node of
  // a std::map owned by a target already visited, and nothing visited later erases or moves a
  // node of a map whose own patch has been applied (each key appears once in a patch object).
  std::vector<std::pair<json*, const json*>> pending{{&target, &patch}};
  while (!pending.empty()) {
    auto [doc, change] = pending.back();
    pending.pop_back();
    if (!change->is_object()) {
      *doc = copy_json(*change);  // RFC 7396 §2: a non-object patch replaces the target
      continue;
    }
    if (!doc->is_object()) *doc = json::object();
    for (const auto& [key, value] : change->items()) {
      if (value.is_null()) {
        doc->erase(key);
      } else if (value.is_object()) {
        pending.emplace_back(&(*doc)[key], &value);  // a missing key starts as null
      } else {
        (*doc)[key] = copy_json(value);
      }
    }
  }
}

}  // namespace ember
