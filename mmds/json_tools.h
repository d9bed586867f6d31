// Deep copy and compact serialisation of nlohmann::json without recursion. nlohmann's own copy
// constructor and dump() recurse once per nesting level, and the metadata store holds whatever
// the host sent: a 50 KiB body can nest ~25000 levels ("[[[[..."), deep enough to overflow a
// thread's stack. These walk with an explicit stack on the heap instead. (nlohmann's parser and
// destructor are already iterative in 3.11.)
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace ember {

// A copy of `value` equal to nlohmann's copy constructor's.
[[nodiscard]] nlohmann::json copy_json(const nlohmann::json& value);

// The compact text of `value`, as nlohmann's dump() writes it (no spaces, keys in the object's
// order, which is sorted), the same text serde_json's to_string writes for Firecracker except
// for a float's exponent spelling. Strings that are not valid UTF-8 have the bad bytes replaced
// by U+FFFD instead of throwing.
[[nodiscard]] std::string dump_compact(const nlohmann::json& value);

}  // namespace ember
