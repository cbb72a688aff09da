#include "io/toml_values.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "xent/error.h"

namespace xent::toml_io {
namespace {

// The length of the well-formed UTF-8 sequence of a non-ASCII character at s[i], or 0.
size_t utf8_length(std::string_view s, size_t i) {
  const auto at = [&](size_t k) { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u; };
  const unsigned lead = at(i);
  // The range of the second byte narrows for the leads that could encode overlong forms or
  // surrogates (RFC 3629, section 4).
  unsigned lo = 0x80, hi = 0xBF;
  size_t n = 0;
  if (lead >= 0xC2 && lead <= 0xDF) {
    n = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    n = 3;
    if (lead == 0xE0) lo = 0xA0;
    if (lead == 0xED) hi = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    n = 4;
    if (lead == 0xF0) lo = 0x90;
    if (lead == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (at(i + 1) < lo || at(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (at(i + k) < 0x80 || at(i + k) > 0xBF) return 0;
  return n;
}

}  // namespace

[[noreturn]] void bad(const std::string& where, const std::string& what) {
  throw InputError(where + ": " + what);
}

// toml++ parses a dotted key or table name with one stack frame per level, and a few tens of
// thousands of levels overflow the stack (the fuzz build's at 60 KB of "a.a.a...", a plain
// build's at 2 MB). A config is a few hundred bytes, so a config file or --set value over this
// is refused before it is parsed.

// toml++ 3.3 (Debian 12's) reaches __builtin_unreachable when it asks whether certain non-ASCII
// characters (U+00A1 to U+0499 among them: é, κ) are whitespace, as it does after a value or at
// the start of a document (marzer/tomlplusplus#190 and #295; the config fuzzer found it):
// undefined behaviour. No key or value of a valid config holds a non-ASCII character, only
// comments and wrong values do, so each such character is replaced by U+FFFD before parsing:
// comments keep their meaning, and a wrong value is still refused. Malformed UTF-8 is left for
// toml++ to refuse.
std::string non_ascii_replaced(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_length(s, i);
    if (n == 0) {
      out += s[i++];
    } else {
      out += "\xEF\xBF\xBD";
      i += n;
    }
  }
  return out;
}

// Keys and values quoted in a message come from the user's file or command line, where TOML
// escapes can hide any character: control characters are written back as escapes so that the
// message stays on one line, and a long name is cut short.
std::string shown(std::string_view s, size_t limit) {
  std::string out;
  for (const char ch : s) {
    if (out.size() >= limit) return out + "...";
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '\n') {
      out += "\\n";
    } else if (ch == '\t') {
      out += "\\t";
    } else if (ch == '\r') {
      out += "\\r";
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04X", static_cast<unsigned>(u));
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

int64_t as_int(const toml::node& n, const std::string& where) {
  if (auto v = n.as_integer()) return v->get();
  if (auto f = n.as_floating_point()) {
    const double x = f->get();
    // 1e5 is a natural way to write a count; accept floats that are exact integers.
    if (std::isfinite(x) && x == std::floor(x) && std::abs(x) < 9e15)
      return static_cast<int64_t>(x);
  }
  bad(where, "expected an integer");
}
double as_double(const toml::node& n, const std::string& where) {
  if (auto v = n.as_floating_point()) return v->get();
  if (auto v = n.as_integer()) return static_cast<double>(v->get());
  bad(where, "expected a number");
}
bool as_bool(const toml::node& n, const std::string& where) {
  if (auto v = n.as_boolean()) return v->get();
  bad(where, "expected true or false");
}
std::string as_string(const toml::node& n, const std::string& where) {
  if (auto v = n.as_string()) return v->get();
  bad(where, "expected a string");
}
int as_int32(const toml::node& n, const std::string& where) {
  const int64_t v = as_int(n, where);
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    bad(where, "value " + std::to_string(v) + " is out of range");
  return static_cast<int>(v);
}

// A TOML basic string: the quote and the backslash escaped, and control characters as \uXXXX,
// so that any text (a file name, a dataset name from --set) reads back as itself.
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20 || u == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}
std::string num(double v) {
  std::ostringstream o;
  o.precision(17);
  o << v;
  std::string s = o.str();
  // TOML needs a float to look like one.
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

toml::table parse_document(std::string_view text, const std::string& file) {
  if (text.size() > kMaxConfigBytes)
    throw InputError(file + ": larger than 16 KiB, too large for a config file");
  try {
    return toml::parse(non_ascii_replaced(text), file);
  } catch (const toml::parse_error& e) {
    throw InputError(file + ":" + std::to_string(e.source().begin.line) + ": " +
                     shown(e.description(), 1000));
  }
}

void apply_table(const toml::table& t, const std::string& prefix, const std::string& file,
                 const std::function<bool(const std::string&)>& is_section, const Apply& apply) {
  for (const auto& [k, v] : t) {
    const std::string name =
        prefix.empty() ? std::string(k.str()) : prefix + "." + std::string(k.str());
    const auto* sub = v.as_table();
    // A table that is no section is refused here, not when a key inside it is: an empty
    // [dgpp] would otherwise pass unnoticed, and [a.a.a...] would recurse once per level.
    if (sub && is_section(name)) {
      apply_table(*sub, name, file, is_section, apply);
    } else {
      apply(name, v, file + ": " + shown(name));
    }
  }
}

void apply_set(const std::string& kv, const std::string& where,
               const std::function<bool(const std::string&)>& known, const std::string& help,
               const Apply& apply) {
  const size_t eq = kv.find('=');
  if (eq == std::string::npos || eq == 0)
    throw InputError(where + " '" + shown(kv) + "': expected key=value");
  const std::string key = kv.substr(0, eq);
  const std::string value = kv.substr(eq + 1);
  if (!known(key))
    throw InputError(where + " '" + shown(kv) + "': unknown key '" + shown(key) + "' (see " + help +
                     " for the key list)");
  if (value.size() > kMaxConfigBytes)
    throw InputError(where + " " + key + ": the value is longer than 16 KiB");
  // The value is read as TOML; a bare word (kappa=... is a number, conditional=laplace is
  // not valid TOML) is taken as a string so that users need not quote on the shell. The string
  // is made directly, not by parsing a quoted copy: a value holding a newline or another
  // control character is no valid TOML string either.
  try {
    const toml::table doc = toml::parse("v = " + non_ascii_replaced(value));
    if (const toml::node* v = doc.get("v")) return apply(key, *v, where + " " + key);
  } catch (const toml::parse_error&) {
  }
  apply(key, toml::value<std::string>(value), where + " " + key);
}

}  // namespace xent::toml_io
