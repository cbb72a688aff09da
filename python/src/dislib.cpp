// xent.dislib: `xent dislib` (host/experiments/dislib/run.h) with the GIL released, its rows
// kept in memory as well.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <chrono>
#include <string>
#include <vector>

#include "experiments/dislib/run.h"
#include "module.h"

namespace xent::py {

void bind_dislib(nb::module_& m) {
  // Runs the DisLib experiment of the config that `xent dislib --config path --set ...` gives
  // (path "" for none) into out ("" writes nothing). Returns summary.json's text, the Pearson r
  // [repeats][targets], results.csv's text, and the metrics and loss rows.
  m.def(
      "dislib",
      [](const std::string& path, const std::vector<std::string>& sets, const std::string& out,
         const std::string& device, bool force, bool quiet) {
        dislib::Job job;
        job.config = dislib::load_run_config(path, sets);
        job.out = out;
        job.force = force;
        job.quiet = quiet;
        MemorySink memory;
        job.also = &memory;
        PendingError pending;
        auto last_poll = std::chrono::steady_clock::now();
        job.between_steps = [&](int64_t) {
          const auto now = std::chrono::steady_clock::now();
          if (now - last_poll < kPollEvery) return true;
          last_poll = now;
          nb::gil_scoped_acquire gil;
          if (PyErr_CheckSignals() == 0) return true;
          nb::python_error e;
          pending.keep(e);
          return false;
        };
        dislib::Outcome o;
        {
          nb::gil_scoped_release release;
          BackendOptions bo;
          bo.device = device;
          bo.threads = job.config.threads;
          auto backend = make_backend(bo);
          o = dislib::run(*backend, job);
        }
        pending.raise();
        std::vector<double> r;
        for (const dislib::ProbeScores& s : o.scores) r.insert(r.end(), s.begin(), s.end());
        const size_t targets = o.scores.empty() ? 0 : o.scores[0].size();
        return nb::make_tuple(summary_json(o.summary).dump(2),
                              to_numpy(std::move(r), {o.scores.size(), targets}), o.results_csv,
                              dicts(memory.rows), dicts(memory.losses));
      },
      nb::arg("path"), nb::arg("sets"), nb::arg("out"), nb::arg("device"), nb::arg("force"),
      nb::arg("quiet"));
}

}  // namespace xent::py
