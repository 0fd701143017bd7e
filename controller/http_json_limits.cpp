#include "controller/http_json_limits.h"

#include <nlohmann/json.hpp>

namespace vrf {

namespace {

using json = nlohmann::json;

// Returning false from any event ends the parse at once.
class LimitCounter : public nlohmann::json_sax<json> {
 public:
  explicit LimitCounter(const JsonLimits& l) : limits_(l) {}
  std::optional<JsonLimitViolation> violation;

  bool null() override { return element(); }
  bool boolean(bool) override { return element(); }
  bool number_integer(number_integer_t) override { return element(); }
  bool number_unsigned(number_unsigned_t) override { return element(); }
  bool number_float(number_float_t, const string_t&) override { return element(); }
  bool string(string_t&) override { return element(); }
  bool binary(binary_t&) override { return element(); }
  bool key(string_t&) override { return element(); }
  bool start_object(std::size_t) override { return open(); }
  bool start_array(std::size_t) override { return open(); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  bool element() {
    if (++elements_ <= limits_.max_elements) return true;
    violation = JsonLimitViolation{"max_json_elements", "JSON body has more than " + std::to_string(limits_.max_elements) +
                                                            " elements (limit max_json_elements)"};
    return false;
  }
  bool open() {
    if (++depth_ > limits_.max_depth) {
      violation = JsonLimitViolation{"max_json_depth", "JSON body is nested deeper than " +
                                                           std::to_string(limits_.max_depth) +
                                                           " levels (limit max_json_depth)"};
      return false;
    }
    return element();
  }
  bool close() {
    --depth_;
    return true;
  }

  const JsonLimits& limits_;
  size_t depth_ = 0;
  size_t elements_ = 0;
};

}  // namespace

std::optional<JsonLimitViolation> json_limit_violation(std::string_view text, const JsonLimits& limits) {
  LimitCounter counter(limits);
  // strict=false: trailing garbage is the real parser's to report, not ours.
  json::sax_parse(text.begin(), text.end(), &counter, json::input_format_t::json, false);
  return counter.violation;
}

}  // namespace vrf
