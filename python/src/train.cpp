// xent.train and xent.load: a trained population that stays in memory (xent.Run), trained by
// the run loop every front end calls (include/xent/run.h) with the GIL released.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/run_directory.h"
#include "experiments/synthetic/summary.h"
#include "io/progress.h"
#include "module.h"
#include "xent/checkpoint.h"
#include "xent/run.h"
#include "xent/trainer.h"
#include "xent/trainer_run.h"

namespace xent::py {
namespace {

using Clock = std::chrono::steady_clock;
using Features = nb::ndarray<const float, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

class Run {
 public:
  Run(const PyConfig& c, const std::string& device) : c_(c) {
    BackendOptions o;
    o.device = device;
    o.tf32 = c.config.train.tf32;
    o.threads = c.config.train.threads;
    backend_ = make_backend(o);
  }

  // What `xent train --out OUT` does for a fresh run (host/cli/train_command.cpp), with the
  // progress hooks of the binding; out "" writes no files.
  void train(const std::string& out, bool terminal_bar, nb::object on_step, nb::object on_eval) {
    PendingError pending;
    {
      nb::gil_scoped_release release;
      std::optional<RunDirectory> dir;
      if (!out.empty()) dir = RunDirectory::fresh(out, false, to_toml(c_.config));
      // The rows go to memory (Run.metrics) and, with out, to metrics.jsonl and loss.jsonl.
      MemorySink memory;
      const std::unique_ptr<JsonlSink> file = dir ? dir->sink() : nullptr;
      TeeSink sink(&memory, file.get());
      const auto t0 = Clock::now();
      trainer_ = std::make_unique<Trainer>(*backend_, c_.config);
      RunSpec spec;
      spec.checkpoint = dir ? dir->checkpoint() : std::string();
      spec.started = t0;
      spec.progress_bar = terminal_bar;
      auto last_poll = Clock::now();
      spec.between_steps = [&](int64_t step) {
        const auto now = Clock::now();
        if (now - last_poll < kPollEvery && step != c_.config.train.steps) return true;
        last_poll = now;
        nb::gil_scoped_acquire gil;
        try {
          if (PyErr_CheckSignals() != 0) throw nb::python_error();
          if (on_step.is_valid() && !on_step.is_none()) on_step(step);
        } catch (nb::python_error& e) {
          pending.keep(e);
          return false;
        }
        return true;
      };
      spec.on_evaluation = [&](int64_t step, const std::vector<MetricValues>& values) {
        if (!on_eval.is_valid() || on_eval.is_none()) return true;
        nb::gil_scoped_acquire gil;
        try {
          nb::list rows;
          const auto& all = memory.rows;
          for (size_t i = all.size() - values.size(); i < all.size(); ++i)
            rows.append(row_dict(all[i]));
          const nb::object go_on = on_eval(step, rows);
          return go_on.is_none() || nb::cast<bool>(go_on);
        } catch (nb::python_error& e) {
          pending.keep(e);
        } catch (const nb::cast_error&) {
          PyErr_SetString(PyExc_TypeError, "callback: must return None, True or False");
          nb::python_error e;
          pending.keep(e);
        }
        return false;
      };
      TrainerRun job(*trainer_);
      const RunOutcome r = run(job, sink, spec);
      const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
      rows_ = std::move(memory.rows);
      losses_ = std::move(memory.losses);
      stopped_ = r.stopped;
      if (!pending.error) {
        std::vector<uint64_t> seeds;
        for (int k = 0; k < c_.config.train.population; ++k) seeds.push_back(trainer_->seed(k));
        const Summary summary =
            synthetic_summary("train", c_.preset, backend_->name(), c_.config,
                              trainer_->steps_done(), seeds, r.metrics, run_timings(r, wall));
        summary_ = summary_json(summary).dump(2);
        if (dir) dir->write_summary(summary);
      }
    }
    pending.raise();
  }

  // A run that `xent train` or Run.save wrote, from its config.toml and checkpoint.xck.
  void load(const std::string& dir) {
    nb::gil_scoped_release release;
    const std::string ck_path = dir + "/checkpoint.xck";
    const Checkpoint ck = read_checkpoint(ck_path);
    check_checkpoint(ck, c_.config, ck_path);
    trainer_ = std::make_unique<Trainer>(*backend_, c_.config);
    restore_checkpoint(*trainer_, ck, ck_path);
  }

  // The run's directory as `xent train` leaves it: config.toml, checkpoint.xck, metrics.jsonl,
  // loss.jsonl and, for a run that finished, summary.json. `xent train --resume DIR` continues
  // it.
  void save(const std::string& dir, const std::string& metrics_jsonl,
            const std::string& loss_jsonl) {
    nb::gil_scoped_release release;
    const RunDirectory d = RunDirectory::fresh(dir, false, to_toml(c_.config));
    write_checkpoint(d.checkpoint(), *trainer_);
    d.write("metrics.jsonl", metrics_jsonl);
    d.write("loss.jsonl", loss_jsonl);
    if (!summary_.empty()) d.write("summary.json", summary_ + "\n");
  }

  nb::list metrics() const { return dicts(rows_); }
  nb::list losses() const { return dicts(losses_); }

  // Parameters and BatchNorm statistics, [K][...] each: no Adam moments (training state only).
  nb::dict parameters() {
    const int K = c_.config.train.population;
    const std::vector<LayerSpec> specs = encoder_specs(c_.config);
    nb::dict out;
    for (const StateTensor& t : trainer_->state()) {
      if (t.name.rfind("adam.", 0) == 0) continue;
      std::vector<float> host(static_cast<size_t>(K * t.size));
      backend_->download(host.data(), t.data, host.size() * sizeof(float));
      out[t.name.c_str()] = to_numpy(std::move(host), shape(t, K, specs));
    }
    return out;
  }

  nb::object encode(Features x) {
    const auto n = static_cast<int64_t>(x.shape(0));
    std::vector<float> f;
    {
      nb::gil_scoped_release release;
      f = trainer_->encode(x.data(), n);
    }
    const auto d = static_cast<size_t>(c_.config.dgp.d);
    return to_numpy(std::move(f),
                    {static_cast<size_t>(c_.config.train.population), static_cast<size_t>(n), d});
  }

  const std::string& summary() const { return summary_; }
  bool stopped() const { return stopped_; }
  int64_t steps_done() const { return trainer_->steps_done(); }
  std::string device() const { return backend_->name(); }
  const PyConfig& config() const { return c_; }

 private:
  // A tensor's shape from its name: enc.<i>.weight is [out][in], head.weight [classes][d],
  // everything else a vector.
  std::vector<size_t> shape(const StateTensor& t, int K,
                            const std::vector<LayerSpec>& specs) const {
    std::vector<size_t> s = {static_cast<size_t>(K)};
    if (t.name == "head.weight") {
      s.push_back(static_cast<size_t>(c_.config.dgp.classes()));
      s.push_back(static_cast<size_t>(c_.config.dgp.d));
      return s;
    }
    for (size_t i = 0; i < specs.size(); ++i)
      if (t.name == "enc." + std::to_string(i) + ".weight") {
        s.push_back(static_cast<size_t>(specs[i].out));
        s.push_back(static_cast<size_t>(specs[i].in));
        return s;
      }
    s.push_back(static_cast<size_t>(t.size));
    return s;
  }

  PyConfig c_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Trainer> trainer_;
  std::vector<MetricsRow> rows_, losses_;
  std::string summary_;
  bool stopped_ = false;
};

}  // namespace

void bind_train(nb::module_& m) {
  nb::class_<Run>(m, "Run")
      .def(nb::init<const PyConfig&, const std::string&>(), nb::arg("config"), nb::arg("device"))
      .def("train", &Run::train, nb::arg("out"), nb::arg("terminal_bar"), nb::arg("on_step").none(),
           nb::arg("on_eval").none())
      .def("load", &Run::load, nb::arg("dir"))
      .def("save", &Run::save, nb::arg("dir"), nb::arg("metrics_jsonl"), nb::arg("loss_jsonl"))
      .def("metrics", &Run::metrics)
      .def("losses", &Run::losses)
      .def("parameters", &Run::parameters)
      .def("encode", &Run::encode, nb::arg("x"))
      .def_prop_ro("summary", &Run::summary)
      .def_prop_ro("stopped", &Run::stopped)
      .def_prop_ro("steps_done", &Run::steps_done)
      .def_prop_ro("device", &Run::device)
      .def_prop_ro("config", &Run::config, nb::rv_policy::reference_internal);
  m.def("stderr_is_terminal", &stderr_is_terminal);
}

}  // namespace xent::py
