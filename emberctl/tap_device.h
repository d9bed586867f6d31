// A tap interface made for one VM (`emberctl run --net`) and removed afterwards. Needs root
// (CAP_NET_ADMIN). It is persistent while it exists so that ember can open it by name, and in
// the IFF_TAP | IFF_NO_PI | IFF_VNET_HDR mode ember opens taps with; it is brought up, and given
// no address: routing or bridging it is left to the caller.
#pragma once

#include <string>

#include "base/result.h"

namespace ember::ctl {

class TapDevice {
 public:
  // `name`: 1 to 15 bytes; an interface of that name must not exist yet.
  [[nodiscard]] static Result<TapDevice> create(const std::string& name);
  TapDevice(TapDevice&& o) noexcept;
  TapDevice& operator=(TapDevice&&) = delete;
  ~TapDevice();

  [[nodiscard]] const std::string& name() const { return name_; }
  // Removes it now (also done on destruction).
  Result<void> remove();

 private:
  explicit TapDevice(std::string name) : name_(std::move(name)) {}
  std::string name_;
};

// A tap name for this emberctl process: "ember" and the pid.
[[nodiscard]] std::string default_tap_name();

}  // namespace ember::ctl
