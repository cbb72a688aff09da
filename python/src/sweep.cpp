// xent.sweep: `xent sweep` on one rank (host/cli/sweep_command.cpp), from a file or from the
// text the package wrote for a dict.
#include "experiments/synthetic/sweep.h"

#include <nanobind/stl/string.h>

#include <filesystem>

#include "module.h"

namespace xent::py {

void bind_sweep(nb::module_& m) {
  // Trains every population with a run left to do into OUT, then writes OUT/results.jsonl and
  // results.csv; returns the number of failed runs. A finished run is skipped, as a rerun of
  // `xent sweep` skips it.
  m.def(
      "sweep",
      [](const std::string& text, const std::string& file, const std::string& out, int64_t steps,
         const std::string& device, bool progress) {
        nb::gil_scoped_release release;
        SweepOptions o;
        o.steps = steps;
        const SweepPlan plan = plan_sweep_text(text, file, o);
        for (const auto& r : plan.runs) (void)run_done(out, r);
        std::filesystem::create_directories(out + "/runs");
        for (const auto& population : plan.populations) {
          std::vector<size_t> todo;
          for (const size_t i : population)
            if (!run_done(out, plan.runs[i])) todo.push_back(i);
          if (todo.empty()) continue;
          BackendOptions bo;
          bo.device = device;
          bo.tf32 = plan.runs[todo.front()].config.train.tf32;
          bo.threads = plan.runs[todo.front()].config.train.threads;
          auto backend = make_backend(bo);
          run_population(*backend, plan, todo, out, 0, progress);
          // Ctrl-C is looked for between populations: the finished ones keep their files, and
          // a rerun skips them (a population's run loop has no hook for it).
          nb::gil_scoped_acquire gil;
          if (PyErr_CheckSignals() != 0) throw nb::python_error();
        }
        return write_results(out, plan);
      },
      nb::arg("text"), nb::arg("file"), nb::arg("out"), nb::arg("steps"), nb::arg("device"),
      nb::arg("progress"));
}

}  // namespace xent::py
