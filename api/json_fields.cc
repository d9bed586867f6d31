#include "api/json_fields.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "config/vm_config.h"

namespace ember::api_detail {

using json = nlohmann::json;

JsonFields::JsonFields(const json& obj, std::string where) : obj_(obj), where_(std::move(where)) {}

Result<void> JsonFields::allow_only(std::initializer_list<std::string_view> known) const {
  for (const auto& [key, _] : obj_.items()) {
    if (std::find(known.begin(), known.end(), std::string_view(key)) == known.end())
      return make_error("unknown field " + quote_value(key) + " in " + where_);
  }
  return {};
}

const json* JsonFields::find(std::string_view key) const {
  auto it = obj_.find(std::string(key));
  if (it == obj_.end() || it->is_null()) return nullptr;
  return &*it;
}

bool JsonFields::has(std::string_view key) const { return find(key) != nullptr; }

std::string JsonFields::name(std::string_view key) const { return where_ + "." + std::string(key); }

Error JsonFields::missing(std::string_view key) const {
  // A null in a required field is most likely a value the client meant to give: say why it
  // does not count.
  auto it = obj_.find(std::string(key));
  const bool given_null = it != obj_.end() && it->is_null();
  return make_error(name(key) + " is required" + (given_null ? " (null counts as absent)" : ""));
}

Result<std::optional<std::string>> JsonFields::optional_string(std::string_view key) const {
  const json* v = find(key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return make_error(name(key) + " must be a string");
  return std::optional<std::string>(v->get<std::string>());
}

Result<std::string> JsonFields::string(std::string_view key) const {
  ASSIGN_OR_RETURN(std::optional<std::string> s, optional_string(key));
  if (!s) return missing(key);
  return std::move(*s);
}

Result<std::optional<std::string>> JsonFields::optional_path(std::string_view key) const {
  ASSIGN_OR_RETURN(std::optional<std::string> s, optional_string(key));
  if (!s) return s;
  if (s->empty()) return make_error(name(key) + " must not be empty");
  if (s->find('\0') != std::string::npos) return make_error(name(key) + " must not contain a NUL character");
  return s;
}

Result<std::string> JsonFields::path(std::string_view key) const {
  ASSIGN_OR_RETURN(std::optional<std::string> s, optional_path(key));
  if (!s) return missing(key);
  return std::move(*s);
}

Result<std::optional<bool>> JsonFields::optional_boolean(std::string_view key) const {
  const json* v = find(key);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_boolean()) return make_error(name(key) + " must be true or false");
  return std::optional<bool>(v->get<bool>());
}

Result<bool> JsonFields::boolean(std::string_view key) const {
  ASSIGN_OR_RETURN(std::optional<bool> b, optional_boolean(key));
  if (!b) return missing(key);
  return *b;
}

Result<std::optional<uint64_t>> JsonFields::optional_unsigned_integer(std::string_view key) const {
  const json* v = find(key);
  if (v == nullptr) return std::optional<uint64_t>();
  // nlohmann keeps a non-negative integer literal as unsigned; a negative one is signed, and
  // one past 2^64-1 or with a fraction or exponent is a float.
  if (!v->is_number_unsigned()) {
    if (v->is_number_integer()) return make_error(name(key) + " must not be negative");
    if (v->is_number()) return make_error(name(key) + " must be an integer below 2^64");
    return make_error(name(key) + " must be a non-negative integer");
  }
  return std::optional<uint64_t>(v->get<uint64_t>());
}

Result<uint64_t> JsonFields::unsigned_integer(std::string_view key) const {
  ASSIGN_OR_RETURN(std::optional<uint64_t> n, optional_unsigned_integer(key));
  if (!n) return missing(key);
  return *n;
}

Result<const json*> JsonFields::optional_object(std::string_view key) const {
  const json* v = find(key);
  if (v != nullptr && !v->is_object()) return make_error(name(key) + " must be a JSON object");
  return v;
}

Result<const json*> JsonFields::optional_array(std::string_view key) const {
  const json* v = find(key);
  if (v != nullptr && !v->is_array()) return make_error(name(key) + " must be a JSON array");
  return v;
}

std::string quote_value(std::string_view text) {
  constexpr size_t kMaxShown = 64;
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < kMaxShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  if (text.size() > kMaxShown) out += "...";
  out += "'";
  return out;
}

bool is_valid_id(std::string_view id) { return is_valid_device_id(id); }

}  // namespace ember::api_detail
