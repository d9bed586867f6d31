// A small expected-like result type: C++23's std::expected is not in GCC 12.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace ember {

// What went wrong, for a caller that answers differently by kind (the API turns it into an
// HTTP status; the config-file runner and the CLI only print the message).
enum class ErrorKind {
  kInvalid,      // the input (a request, a file, a flag, guest data) is wrong
  kState,        // valid, but not now: the microVM is in the wrong state for it
  kHost,         // the host refused: a file, a device, a KVM call
  kUnavailable,  // the service is going away (the VMM is shutting down)
  kTooLarge,     // the input is over a size limit (the MMDS store: Firecracker's 413)
  kInternal,     // a bug: an invariant the code relies on did not hold
};

// An error is a message meant for a person: it names the field or input that was wrong.
struct Error {
  std::string message;
  ErrorKind kind = ErrorKind::kInvalid;
};

[[nodiscard]] inline Error make_error(std::string message) { return Error{std::move(message)}; }
[[nodiscard]] inline Error make_error(ErrorKind kind, std::string message) {
  return Error{std::move(message), kind};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  [[nodiscard]] const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  [[nodiscard]] bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  [[nodiscard]] const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

// Prefix an error with context ("kernel: " + inner message) while passing it on.
[[nodiscard]] inline Error with_context(const std::string& context, const Error& e) {
  return Error{context + ": " + e.message, e.kind};
}

}  // namespace ember

// Propagate an error from an expression returning Result<...>.
#define EMBER_CONCAT_INNER(a, b) a##b
#define EMBER_CONCAT(a, b) EMBER_CONCAT_INNER(a, b)
#define TRY(expr)                                          \
  do {                                                     \
    auto EMBER_CONCAT(try_result_, __LINE__) = (expr);     \
    if (!EMBER_CONCAT(try_result_, __LINE__).ok())         \
      return EMBER_CONCAT(try_result_, __LINE__).error();  \
  } while (0)
// Assign the value of a Result<T> expression to `lhs`, or return its error.
#define ASSIGN_OR_RETURN(lhs, expr)                                 \
  auto EMBER_CONCAT(assign_result_, __LINE__) = (expr);             \
  if (!EMBER_CONCAT(assign_result_, __LINE__).ok())                 \
    return EMBER_CONCAT(assign_result_, __LINE__).error();          \
  lhs = std::move(EMBER_CONCAT(assign_result_, __LINE__)).value()
