#include "xent/trainer_run.h"

#include <cstdio>
#include <sstream>

#include "xent/error.h"
#include "xent/model.h"

namespace xent {
namespace {

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace

MetricValues metric_values(const ReplicaMetrics& m) {
  return {{"r2_a", m.r2_a}, {"r2_o", m.r2_o},     {"mae_o", m.mae_o},
          {"r2_w", m.r2_w}, {"r2_o_w", m.r2_o_w}, {"mae_o_w", m.mae_o_w},
          {"mcc", m.mcc},   {"acc", m.acc},       {"loss", m.loss}};
}

ReplicaMetrics replica_metrics(const MetricValues& v) {
  ReplicaMetrics m;
  for (const Metric& x : v) {
    double* field = x.name == "r2_a"      ? &m.r2_a
                    : x.name == "r2_o"    ? &m.r2_o
                    : x.name == "mae_o"   ? &m.mae_o
                    : x.name == "r2_w"    ? &m.r2_w
                    : x.name == "r2_o_w"  ? &m.r2_o_w
                    : x.name == "mae_o_w" ? &m.mae_o_w
                    : x.name == "mcc"     ? &m.mcc
                    : x.name == "acc"     ? &m.acc
                    : x.name == "loss"    ? &m.loss
                                          : nullptr;
    if (field) *field = x.value;
  }
  return m;
}

Schedule TrainerRun::schedule() const {
  const TrainConfig& c = t_.config().train;
  return {c.steps, c.eval_every, c.checkpoint_every};
}

std::vector<double> TrainerRun::last_losses() {
  const std::vector<float> l = t_.last_loss();
  return {l.begin(), l.end()};
}

std::vector<MetricValues> TrainerRun::evaluate() {
  std::vector<MetricValues> out;
  for (const ReplicaMetrics& m : t_.evaluate()) out.push_back(metric_values(m));
  return out;
}

std::string TrainerRun::describe(const MetricValues& v) const {
  const ReplicaMetrics m = replica_metrics(v);
  char buf[96];
  std::snprintf(buf, sizeof buf, "r2_a %.4f  acc %.4f  loss %.4f", m.r2_a, m.acc, m.loss);
  return buf;
}

std::optional<Divergence> TrainerRun::find_nonfinite(bool state) {
  return t_.find_nonfinite(state);
}

void TrainerRun::write_checkpoint(const std::string& path) { xent::write_checkpoint(path, t_); }

uint64_t config_shape_hash(const Config& c) {
  std::string s = "d=" + std::to_string(c.dgp.d) + ";classes=" + std::to_string(c.dgp.classes()) +
                  ";K=" + std::to_string(c.train.population) + ";widths=";
  for (int w : c.model.widths(c.dgp.d)) s += std::to_string(w) + ",";
  return fnv1a(s);
}

uint64_t config_hash(const Config& c) {
  Config mine = c;
  // What a resumed run may change is left out: at its default it differs from nothing.
  for (const auto& key : resume_keys()) copy_key(mine, Config{}, key);
  // Both listings come from the same key table, so they align line by line.
  const auto a = lines(to_toml(mine)), d = lines(to_toml(Config{}));
  std::string differing;
  std::string section;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].empty() && a[i][0] == '[') section = a[i];
    if (i >= d.size() || a[i] != d[i]) differing += section + a[i] + "\n";
  }
  return fnv1a(differing);
}

void write_checkpoint(const std::string& path, Trainer& t) {
  const Config& c = t.config();
  StateHeader h{config_shape_hash(c), config_hash(c), t.steps_done(), {}};
  for (int k = 0; k < c.train.population; ++k) h.seeds.push_back(t.seed(k));
  write_state_checkpoint(path, t.backend(), h, t.state());
}

void check_checkpoint(const Checkpoint& ck, const Config& c, const std::string& path) {
  auto fail = [&](const std::string& what) { throw InputError(path + ": " + what); };
  const int K = c.train.population;
  if (ck.seeds.size() != static_cast<size_t>(K))
    fail("holds " + std::to_string(ck.seeds.size()) +
         " replicas, the config's train.population is " + std::to_string(K));
  if (ck.shape_hash != config_shape_hash(c)) {
    // Name the first tensor whose size differs: it points at the key that changed.
    const ModelLayout layout = model_layout(c);
    for (const auto& pt : layout.params.tensors())
      for (const auto& t : ck.tensors)
        if (t.name == pt.name && t.shape.size() == 2 && t.shape[1] != pt.size)
          fail("written for a different model shape (tensor " + t.name + " holds " +
               std::to_string(t.shape[1]) + " values per replica, this config needs " +
               std::to_string(pt.size) + "; dgp.d, the classes or model.hidden differ)");
    fail("written for a different model shape (dgp.d, the classes or model.hidden differ)");
  }
  for (int k = 0; k < K; ++k)
    if (ck.seeds[k] != c.train.seed + static_cast<uint64_t>(k))
      fail("written for train.seed=" + std::to_string(ck.seeds[0]) + ", the config has " +
           std::to_string(c.train.seed));
  if (ck.config_hash != config_hash(c))
    fail("written by a run with a different config (a key other than train.steps differs)");
  if (ck.step < 0) fail("negative step " + std::to_string(ck.step));
}

void restore_checkpoint(Trainer& t, const Checkpoint& ck, const std::string& path) {
  check_checkpoint(ck, t.config(), path);
  restore_state(t.backend(), ck, t.state(), path);
  t.set_steps_done(ck.step);
}

}  // namespace xent
