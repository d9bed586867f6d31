#include "mmds/json_tools.h"

#include <utility>
#include <vector>

namespace ember {

using nlohmann::json;

namespace {

// A scalar's text (nlohmann does not recurse for these).
std::string dump_scalar(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

json copy_json(const json& value) {
  json root;
  // Each pending item: a source node and the (already placed) destination it is copied into.
  // Destinations stay put: a vector is sized before its elements are queued, and std::map
  // nodes never move.
  std::vector<std::pair<const json*, json*>> pending{{&value, &root}};
  while (!pending.empty()) {
    auto [src, dst] = pending.back();
    pending.pop_back();
    if (src->is_object()) {
      *dst = json::object();
      for (const auto& [key, child] : src->items()) {
        json& slot = (*dst)[key];
        pending.emplace_back(&child, &slot);
      }
    } else if (src->is_array()) {
      *dst = json::array();
      auto& elements = dst->get_ref<json::array_t&>();
      elements.resize(src->size());
      for (size_t i = 0; i < elements.size(); ++i) pending.emplace_back(&(*src)[i], &elements[i]);
    } else {
      *dst = *src;  // a scalar: no recursion
    }
  }
  return root;
}

std::string dump_compact(const json& value) {
  // Work items in reverse order of output: a value to write, or punctuation / an object key.
  struct Item {
    const json* value = nullptr;       // a value to write, or
    const std::string* key = nullptr;  // an object key to write (quoted, then ':'), or
    char text = 0;                     // one character of punctuation
  };
  std::string out;
  std::vector<Item> pending{{&value, nullptr, 0}};
  while (!pending.empty()) {
    Item item = pending.back();
    pending.pop_back();
    if (item.text != 0) {
      out.push_back(item.text);
    } else if (item.key != nullptr) {
      out += dump_scalar(json(*item.key));
      out.push_back(':');
    } else if (item.value->is_object()) {
      const auto& members = item.value->get_ref<const json::object_t&>();
      out.push_back('{');
      pending.push_back({nullptr, nullptr, '}'});
      // Pushed last-to-first so that they are written first-to-last.
      bool last = true;
      for (auto it = members.rbegin(); it != members.rend(); ++it) {
        if (!last) pending.push_back({nullptr, nullptr, ','});
        last = false;
        pending.push_back({&it->second, nullptr, 0});
        pending.push_back({nullptr, &it->first, 0});
      }
    } else if (item.value->is_array()) {
      const auto& elements = item.value->get_ref<const json::array_t&>();
      out.push_back('[');
      pending.push_back({nullptr, nullptr, ']'});
      bool last = true;
      for (auto it = elements.rbegin(); it != elements.rend(); ++it) {
        if (!last) pending.push_back({nullptr, nullptr, ','});
        last = false;
        pending.push_back({&*it, nullptr, 0});
      }
    } else {
      out += dump_scalar(*item.value);
    }
  }
  return out;
}

}  // namespace ember
