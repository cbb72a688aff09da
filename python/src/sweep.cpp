// xent.sweep: `xent sweep` on one rank (host/experiments/synthetic/sweep_job.h), from a file or
// from the text the package wrote for a dict.
#include <nanobind/stl/string.h>

#include "experiments/synthetic/sweep_job.h"
#include "module.h"

namespace xent::py {

void bind_sweep(nb::module_& m) {
  // Trains every population with a run left to do into OUT, then writes OUT/results.jsonl,
  // results.csv, sweep.toml and sweep.json; returns the number of failed runs. A finished run is
  // skipped, as a rerun of `xent sweep` skips it.
  m.def(
      "sweep",
      [](const std::string& text, const std::string& file, const std::string& out, int64_t steps,
         const std::string& device, bool progress) {
        SweepJob job;
        job.file = file;
        job.text = text;
        job.options.steps = steps;
        job.out = out;
        job.device = device;
        job.progress = progress;
        PendingError pending;
        // Ctrl-C is looked for between populations: the finished ones keep their files, and a
        // rerun skips them (a population's run loop has no hook for it).
        job.between_populations = [&pending] {
          nb::gil_scoped_acquire gil;
          if (PyErr_CheckSignals() == 0) return true;
          nb::python_error e;
          pending.keep(e);
          return false;
        };
        SweepOutcome o;
        {
          nb::gil_scoped_release release;
          const SweepPlan plan = plan_sweep_text(text, file, job.options);
          o = run_sweep(plan, job, Ranks());
        }
        pending.raise();
        return o.failed;
      },
      nb::arg("text"), nb::arg("file"), nb::arg("out"), nb::arg("steps"), nb::arg("device"),
      nb::arg("progress"));
}

}  // namespace xent::py
