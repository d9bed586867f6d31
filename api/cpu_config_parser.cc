#include "api/cpu_config_parser.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <string>

#include "api/json_fields.h"

namespace ember::api_detail {
namespace {

using json = nlohmann::json;

// Firecracker's deserialize_from_str_u32: "0x" hex or "0b" binary, nothing else.
Result<uint32_t> prefixed_u32(const JsonFields& f, std::string_view key) {
  ASSIGN_OR_RETURN(std::string text, f.string(key));
  // Compared char by char: GCC 12's -Wmaybe-uninitialized misfires on starts_with here.
  int base = 0;
  std::string_view digits = text;
  if (digits.size() >= 2 && digits[0] == '0' && digits[1] == 'x') base = 16;
  else if (digits.size() >= 2 && digits[0] == '0' && digits[1] == 'b') base = 2;
  if (base == 0)
    return make_error(f.name(key) + " " + quote_value(text) +
                      ": no supported number system prefix; prefix the number with '0x' for hexadecimal "
                      "numbers or '0b' for binary numbers");
  digits.remove_prefix(2);
  uint32_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
    return make_error(f.name(key) + " " + quote_value(text) + " is not a 32-bit " +
                      (base == 16 ? "hexadecimal" : "binary") + " number");
  return value;
}

Result<RegisterValueFilter<uint64_t>> bitmap_field(const JsonFields& f, std::string_view key, unsigned bits) {
  ASSIGN_OR_RETURN(std::string text, f.string(key));
  auto bitmap = parse_bitmap(text, bits);
  if (!bitmap) return make_error(f.name(key) + ": " + bitmap.error().message);
  return bitmap;
}

Result<CpuidRegister> register_field(const JsonFields& f) {
  ASSIGN_OR_RETURN(std::string text, f.string("register"));
  if (text == "eax") return CpuidRegister::kEax;
  if (text == "ebx") return CpuidRegister::kEbx;
  if (text == "ecx") return CpuidRegister::kEcx;
  if (text == "edx") return CpuidRegister::kEdx;
  // Firecracker's text, after the field's name.
  return make_error(f.name("register") + " " + quote_value(text) +
                    ": Invalid CPUID register. Must be one of [eax, ebx, ecx, edx]");
}

// Each element of an optional array field, as an object, with its name ("<where>.<key>[i]").
template <class Parse>
Result<void> each_object(const JsonFields& parent, std::string_view key, Parse parse) {
  ASSIGN_OR_RETURN(const json* array, parent.optional_array(key));
  if (array == nullptr) return {};
  for (size_t i = 0; i < array->size(); ++i) {
    const std::string where = parent.name(key) + "[" + std::to_string(i) + "]";
    if (!(*array)[i].is_object()) return make_error(where + " must be a JSON object");
    TRY(parse(JsonFields((*array)[i], where)));
  }
  return {};
}

Result<KvmCapabilityModifier> kvm_capability(const json& value, const std::string& where) {
  if (!value.is_string()) return make_error(where + " must be a string (\"171\" or \"!171\")");
  const std::string text = value.get<std::string>();
  KvmCapabilityModifier cap;
  std::string_view digits = text;
  if (digits.starts_with('!')) {
    cap.remove = true;
    digits.remove_prefix(1);
  }
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cap.capability, 10);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
    return make_error(where + ": Failed to parse string " + quote_value(text) +
                      " as a kvm capability - can not convert to numeric");
  return cap;
}

}  // namespace

// Firecracker's RegisterValueFilter deserializer: read from the right (bit 0) leftwards.
Result<RegisterValueFilter<uint64_t>> parse_bitmap(std::string_view text, unsigned bits) {
  std::string_view body = text;
  if (body.starts_with("0b")) body.remove_prefix(2);
  RegisterValueFilter<uint64_t> out;
  unsigned bit = 0;
  for (auto it = body.rbegin(); it != body.rend(); ++it) {
    const char c = *it;
    if (c == '_') continue;
    if (bit == bits)
      return make_error("bitmap " + quote_value(text) + " is too long for a " + std::to_string(bits) +
                        "-bit register");
    switch (c) {
      case 'x': break;
      case '0': out.filter |= uint64_t{1} << bit; break;
      case '1':
        out.filter |= uint64_t{1} << bit;
        out.value |= uint64_t{1} << bit;
        break;
      default:
        return make_error("bitmap " + quote_value(text) + " has an unknown character " +
                          quote_value(std::string(1, c)) + " (use 0, 1, x or _)");
    }
    ++bit;
  }
  return out;
}

Result<CustomCpuTemplate> parse_cpu_config(const json& body) {
  if (!body.is_object()) return make_error("cpu-config must be a JSON object");
  JsonFields f(body, "cpu-config");
  for (std::string_view arm : {"vcpu_features", "reg_modifiers"}) {
    if (f.has(arm))
      return make_error(f.name(arm) + " is for aarch64 hosts only; this host is x86_64 (use cpuid_modifiers "
                                      "and msr_modifiers)");
  }
  TRY(f.allow_only({"kvm_capabilities", "cpuid_modifiers", "msr_modifiers"}));
  CustomCpuTemplate t;

  ASSIGN_OR_RETURN(const json* caps, f.optional_array("kvm_capabilities"));
  if (caps != nullptr) {
    for (size_t i = 0; i < caps->size(); ++i) {
      ASSIGN_OR_RETURN(KvmCapabilityModifier cap,
                       kvm_capability((*caps)[i], f.name("kvm_capabilities") + "[" + std::to_string(i) + "]"));
      t.kvm_capabilities.push_back(cap);
    }
  }

  TRY(each_object(f, "cpuid_modifiers", [&](const JsonFields& leaf) -> Result<void> {
    TRY(leaf.allow_only({"leaf", "subleaf", "flags", "modifiers"}));
    CpuidLeafModifier m;
    ASSIGN_OR_RETURN(m.leaf, prefixed_u32(leaf, "leaf"));
    ASSIGN_OR_RETURN(m.subleaf, prefixed_u32(leaf, "subleaf"));
    ASSIGN_OR_RETURN(uint64_t flags, leaf.unsigned_integer("flags"));
    if (flags > UINT32_MAX) return make_error(leaf.name("flags") + " must fit 32 bits");
    m.flags = static_cast<uint32_t>(flags);
    if (!leaf.has("modifiers")) return leaf.missing("modifiers");
    TRY(each_object(leaf, "modifiers", [&](const JsonFields& reg) -> Result<void> {
      TRY(reg.allow_only({"register", "bitmap"}));
      CpuidRegisterModifier r;
      ASSIGN_OR_RETURN(r.reg, register_field(reg));
      ASSIGN_OR_RETURN(RegisterValueFilter<uint64_t> bitmap, bitmap_field(reg, "bitmap", 32));
      r.bitmap = {static_cast<uint32_t>(bitmap.filter), static_cast<uint32_t>(bitmap.value)};
      m.modifiers.push_back(r);
      return {};
    }));
    t.cpuid_modifiers.push_back(std::move(m));
    return {};
  }));

  TRY(each_object(f, "msr_modifiers", [&](const JsonFields& msr) -> Result<void> {
    TRY(msr.allow_only({"addr", "bitmap"}));
    MsrModifier m;
    ASSIGN_OR_RETURN(m.addr, prefixed_u32(msr, "addr"));
    ASSIGN_OR_RETURN(m.bitmap, bitmap_field(msr, "bitmap", 64));
    t.msr_modifiers.push_back(m);
    return {};
  }));
  return t;
}

}  // namespace ember::api_detail
