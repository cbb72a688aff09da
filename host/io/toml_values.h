// Reading and writing config values in TOML, shared by every config xent reads (`xent train`'s
// and the DisLib runs'): typed reads that name the key on a wrong value, the walk of a file's
// tables into dotted keys, and `--set key=value`.
#pragma once
#include <toml++/toml.h>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xent::toml_io {

// toml++ parses a dotted key or table name with one stack frame per level, and a few tens of
// thousands of levels overflow the stack (the fuzz build's at 60 KB of "a.a.a...", a plain
// build's at 2 MB). A config is a few hundred bytes, so a config file or --set value over this
// is refused before it is parsed.
inline constexpr size_t kMaxConfigBytes = 16 * 1024;

// Throws InputError "where: what".
[[noreturn]] void bad(const std::string& where, const std::string& what);

// Text with each non-ASCII character replaced by U+FFFD (see toml_values.cpp): toml++ 3.3 must
// only ever parse text that went through this.
std::string non_ascii_replaced(std::string_view s);
// A user's key or value for a message: control characters escaped, cut after `limit` bytes.
std::string shown(std::string_view s, size_t limit = 200);

int64_t as_int(const toml::node& n, const std::string& where);
int as_int32(const toml::node& n, const std::string& where);
double as_double(const toml::node& n, const std::string& where);
bool as_bool(const toml::node& n, const std::string& where);
std::string as_string(const toml::node& n, const std::string& where);

template <class E>
E as_enum(const toml::node& n, const std::string& where,
          const std::vector<std::pair<std::string, E>>& names) {
  const std::string s = as_string(n, where);
  std::string list;
  for (const auto& [name, e] : names) {
    if (name == s) return e;
    list += (list.empty() ? "" : ", ") + name;
  }
  bad(where, "unknown value '" + shown(s) + "' (expected one of " + list + ")");
}
template <class E>
std::string enum_name(E e, const std::vector<std::pair<std::string, E>>& names) {
  for (const auto& [name, v] : names)
    if (v == e) return name;
  return "?";
}

// TOML text of a string and of a number (a float always looks like one).
std::string quote(const std::string& s);
std::string num(double v);

// Parses a config file's text (at most kMaxConfigBytes). Throws InputError "file:line: what".
toml::table parse_document(std::string_view text, const std::string& file);

// apply(dotted key, value, where) for every value of t, descending into the tables that
// is_section names; any other table goes to apply as a value (and is refused there).
using Apply =
    std::function<void(const std::string& key, const toml::node& value, const std::string& where)>;
void apply_table(const toml::table& t, const std::string& prefix, const std::string& file,
                 const std::function<bool(const std::string&)>& is_section, const Apply& apply);

// One "key=value" of the command line: the value is read as TOML, or else taken as a bare
// string. Throws InputError naming `where` and the key when known(key) is false ("see `help`
// for the key list"), or when the text has no '='.
void apply_set(const std::string& kv, const std::string& where,
               const std::function<bool(const std::string&)>& known, const std::string& help,
               const Apply& apply);

}  // namespace xent::toml_io
