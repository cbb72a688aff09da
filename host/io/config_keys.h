// The one mechanism behind every config xent reads (the synthetic experiment's and DisLib's): a
// table of keys, each a dotted name ("train.lr") with how to read it from TOML, write it back and
// copy it, what it may do (Attrs) and a line of help. Loading (a file's tables, --set), the
// resolved config.toml, --help, --resume's check and the checkpoint hashes all walk the table,
// so that adding a key is its field, its table line and its validation.
#pragma once
#include <toml++/toml.h>

#include <algorithm>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/toml_values.h"
#include "xent/error.h"

namespace xent::config_keys {

// What a key may do, beyond being read and written.
struct Attrs {
  // > 0: the key may differ between the replicas of one population (it changes values the
  // replicas draw, never a shape or the optimiser). The number is its place in the list of
  // such keys, the order in which messages list them.
  int per_replica = 0;
  // The size of the population itself: whatever forms the population sets it.
  bool population = false;
  // The shapes of the tensors a checkpoint holds depend on it.
  bool shape = false;
  // May change when a run is resumed (a checkpoint's config hash leaves these keys out).
  bool resume = false;
};

template <class C>
struct Key {
  std::string name;
  Attrs attrs;
  std::function<void(C&, const toml::node&, const std::string& where)> set;
  std::function<std::string(const C&)> get;
  std::function<void(C& to, const C& from)> copy;
  std::string help;  // one line for --help; "" lists the key with its default only
};

// Keys of every kind, from the field they name: `field` is a generic lambda returning a
// reference to it (`[](auto& c) -> auto& { return c.train.lr; }`, XENT_FIELD below).
template <class C, class F, class Read, class Write>
Key<C> make_key(std::string name, F field, Read read, Write write, Attrs a, std::string help) {
  return {std::move(name),
          a,
          [field, read](C& c, const toml::node& n, const std::string& w) { field(c) = read(n, w); },
          [field, write](const C& c) { return write(field(c)); },
          [field](C& to, const C& from) { field(to) = field(from); },
          std::move(help)};
}
template <class C, class F>
Key<C> int_key(std::string name, F field, Attrs a = {}, std::string help = "") {
  return make_key<C>(
      std::move(name), field, toml_io::as_int32, [](int v) { return std::to_string(v); }, a,
      std::move(help));
}
template <class C, class F>
Key<C> int64_key(std::string name, F field, Attrs a = {}, std::string help = "") {
  return make_key<C>(
      std::move(name), field, toml_io::as_int, [](int64_t v) { return std::to_string(v); }, a,
      std::move(help));
}
// A seed: an integer >= 0.
template <class C, class F>
Key<C> seed_key(std::string name, F field, Attrs a = {}, std::string help = "") {
  const auto read = [](const toml::node& n, const std::string& w) {
    const int64_t v = toml_io::as_int(n, w);
    if (v < 0) toml_io::bad(w, "must be >= 0");
    return static_cast<uint64_t>(v);
  };
  return make_key<C>(
      std::move(name), field, read, [](uint64_t v) { return std::to_string(v); }, a,
      std::move(help));
}
// A float or double field: read as a double, written with every digit of its own type.
template <class C, class T, class F>
Key<C> real_key(std::string name, F field, Attrs a = {}, std::string help = "") {
  const auto read = [](const toml::node& n, const std::string& w) {
    return static_cast<T>(toml_io::as_double(n, w));
  };
  return make_key<C>(
      std::move(name), field, read, [](T v) { return toml_io::num(v); }, a, std::move(help));
}
template <class C, class F>
Key<C> bool_key(std::string name, F field, Attrs a = {}, std::string help = "") {
  return make_key<C>(
      std::move(name), field, toml_io::as_bool,
      [](bool v) { return std::string(v ? "true" : "false"); }, a, std::move(help));
}
template <class C, class F>
Key<C> string_key(std::string name, F field, Attrs a = {}, std::string help = "") {
  return make_key<C>(
      std::move(name), field, toml_io::as_string,
      [](const std::string& v) { return toml_io::quote(v); }, a, std::move(help));
}
template <class C, class E, class F>
Key<C> enum_key(std::string name, F field, const std::vector<std::pair<std::string, E>>& names,
                Attrs a = {}, std::string help = "") {
  const auto read = [&names](const toml::node& n, const std::string& w) {
    return toml_io::as_enum(n, w, names);
  };
  return make_key<C>(
      std::move(name), field, read,
      [&names](E v) { return toml_io::quote(toml_io::enum_name(v, names)); }, a, std::move(help));
}

// A config's keys, in the order its config.toml lists them.
template <class C>
class Table {
 public:
  // command: the one whose --help lists the keys ("xent train"), for the unknown-key message.
  Table(std::vector<Key<C>> keys, std::string command)
      : keys_(std::move(keys)), command_(std::move(command)) {}

  const std::vector<Key<C>>& keys() const { return keys_; }
  const Key<C>* find(const std::string& name) const {
    for (const Key<C>& k : keys_)
      if (k.name == name) return &k;
    return nullptr;
  }
  // Whether some key lies under the dotted prefix ("train").
  bool is_section(const std::string& prefix) const {
    for (const Key<C>& k : keys_)
      if (k.name.size() > prefix.size() && k.name.compare(0, prefix.size(), prefix) == 0 &&
          k.name[prefix.size()] == '.')
        return true;
    return false;
  }
  // Throws InputError "where: ..." for an unknown key or a bad value.
  void apply(C& c, const std::string& key, const toml::node& v, const std::string& where) const {
    const Key<C>* k = find(key);
    if (!k)
      toml_io::bad(where, "unknown key '" + toml_io::shown(key) + "' (see `" + command_ +
                              " --help` for the key list)");
    k->set(c, v, where);
  }
  // Every value of a parsed file, its tables flattened into dotted keys.
  void apply_table(C& c, const toml::table& t, const std::string& file) const {
    toml_io::apply_table(
        t, "", file, [this](const std::string& s) { return is_section(s); },
        [&](const std::string& key, const toml::node& v, const std::string& where) {
          apply(c, key, v, where);
        });
  }
  // One "key=value" (--set, a preset's line).
  void apply_set(C& c, const std::string& kv, const std::string& where) const {
    toml_io::apply_set(
        kv, where, [this](const std::string& key) { return find(key) != nullptr; },
        "`" + command_ + " --help`",
        [&](const std::string& key, const toml::node& v, const std::string& w) {
          apply(c, key, v, w);
        });
  }
  // The resolved config: `header`, then a [section] per key prefix and "name = value" lines.
  std::string to_toml(const C& c, const std::string& header = "") const {
    std::string out = header, section;
    for (const Key<C>& k : keys_) {
      const size_t dot = k.name.find('.');
      const std::string s = k.name.substr(0, dot);
      if (s != section) out += (out.empty() ? "[" : "\n[") + s + "]\n";
      section = s;
      out += k.name.substr(dot + 1) + " = " + k.get(c) + "\n";
    }
    return out;
  }
  std::vector<std::pair<std::string, std::string>> values(const C& c) const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const Key<C>& k : keys_) out.emplace_back(k.name, k.get(c));
    return out;
  }
  // "  name = default" per key, and its help text from column 34 where it has one.
  std::string help(const C& defaults) const {
    std::string out;
    for (const Key<C>& k : keys_) {
      std::string line = "  " + k.name + " = " + k.get(defaults);
      if (!k.help.empty()) line.resize(std::max<size_t>(line.size() + 1, 34), ' ');
      out += line + k.help + "\n";
    }
    return out;
  }
  std::vector<std::string> names_where(const std::function<bool(const Attrs&)>& has) const {
    std::vector<std::string> out;
    for (const Key<C>& k : keys_)
      if (has(k.attrs)) out.push_back(k.name);
    return out;
  }
  // Throws InputError "--set KEY: cannot change on --resume ..." for the first key that differs
  // and may not.
  void check_resume(const C& run, const C& resumed) const {
    for (const Key<C>& k : keys_) {
      if (k.attrs.resume) continue;
      const std::string was = k.get(run);
      if (k.get(resumed) != was)
        throw InputError("--set " + k.name + ": cannot change on --resume (the run used " + was +
                         "; only " + list(names_where([](const Attrs& a) { return a.resume; })) +
                         " may change)");
    }
  }

  // "a, b or c".
  static std::string list(const std::vector<std::string>& names) {
    std::string out;
    for (size_t i = 0; i < names.size(); ++i)
      out += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
    return out;
  }

 private:
  std::vector<Key<C>> keys_;
  std::string command_;
};

}  // namespace xent::config_keys

// The field a key names, for the key makers: XENT_FIELD(train.lr).
#define XENT_FIELD(PATH) \
  [](auto& c) -> auto& { return c.PATH; }
