// `xent probe-factors`: the classification probe of the paper's ImageNet-X experiment
// (host/experiments/imagenet_x/probe_factors.h) on the user's feature files, with every step of the
// reference protocol a flag that defaults to the reference's value.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "experiments/imagenet_x/inputs.h"
#include "experiments/imagenet_x/run.h"
#include "xent/error.h"
#include "xent/t_test.h"

namespace xent::cli {
namespace {

struct Options {
  std::vector<std::string> features;  // NAME=PATH
  std::string targets, file_names, out, device = "auto", filter = "positive-mean";
  FactorProbeOptions probe;
  bool force = false;
};

// Accuracy on the scored part, mean +- SEM over repeats, per target and feature set.
void print_table(const FactorProbeOutcome& o, const std::vector<std::string>& targets) {
  std::printf("%-18s", ("accuracy (" + o.part + ")").c_str());
  for (const FactorProbe& p : o.probes) std::printf(" %18s", p.features.c_str());
  std::printf("\n");
  for (const std::string& t : targets) {
    std::printf("%-18s", t.c_str());
    for (const FactorProbe& p : o.probes) {
      std::vector<double> acc;
      for (const FactorScore& s : p.scores)
        if (s.target == t && s.part == o.part) acc.push_back(s.metrics.accuracy);
      const auto [m, sem] = mean_sem(acc);
      char cell[32];
      std::snprintf(cell, sizeof cell, "%.3f +- %.3f", m, sem);
      std::printf(" %18s", cell);
    }
    std::printf("\n");
  }
}

void run(const Options& o) {
  if (o.filter != "positive-mean" && o.filter != "none")
    throw InputError("--feature-filter: expected positive-mean or none, got " + o.filter);
  FactorProbeJob job;
  job.options = o.probe;
  job.options.positive_mean_filter = o.filter == "positive-mean";
  job.out = o.out;
  job.force = o.force;
  job.quiet = false;
  for (const std::string& spec : o.features) job.features.push_back(load_features(spec));
  job.targets = load_targets(o.targets, o.file_names, job.features.front().rows);
  BackendOptions bo;
  bo.device = o.device;
  auto backend = make_backend(bo);
  const FactorProbeOutcome r = run_factor_probes(*backend, job);
  print_table(r, job.targets.names);
  size_t unconverged = 0;
  for (const FactorProbe& p : r.probes)
    for (const FactorScore& s : p.scores) unconverged += !s.converged;
  if (unconverged)
    std::fprintf(stderr,
                 "xent probe-factors: %zu scored fits stopped above the gradient tolerance (the "
                 "rounding floor of float logits); see \"converged\" in results.json\n",
                 unconverged);
  std::fprintf(stderr, "xent probe-factors: wrote %s/results.json, results.csv and factors.png\n",
               o.out.c_str());
}

}  // namespace

void add_probe_factors(CLI::App& app) {
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "probe-factors",
      "Classification probes of feature sets for binary or multiclass factors (the paper's "
      "ImageNet-X experiment): logistic regressions per target (multinomial for more than two "
      "classes), repeated over stratified, balanced splits");
  sub->add_option("--features", o->features, "NAME=PATH: a feature set, .npy [rows][p] (repeat)")
      ->required();
  sub->add_option("--targets", o->targets,
                  "ImageNet-X annotations (.jsonl, with --file-names) or class labels 0 .. K-1 "
                  "(.npy [rows] or [rows][targets], .csv with a header of names); K > 2: a "
                  "multinomial fit, scored by accuracy and macro precision, recall and F1")
      ->required();
  sub->add_option("--file-names", o->file_names,
                  "text file: the image file name of each feature row (for a .jsonl)");
  sub->add_option("--out", o->out, "output directory")->required();
  sub->add_option("--repeats", o->probe.repeats,
                  "splits per target (seeds seed..seed+repeats-1); 0: one fit on all rows, its "
                  "weights written")
      ->capture_default_str();
  sub->add_option("--test-fraction", o->probe.test_fraction, "the test part of each class")
      ->capture_default_str();
  sub->add_flag("--balance,!--no-balance", o->probe.balance,
                "keep each part's first rows of each class up to the smallest class's count")
      ->capture_default_str();
  sub->add_option("--feature-filter", o->filter,
                  "positive-mean (drop columns of mean <= 0, as the reference does) or none")
      ->capture_default_str();
  sub->add_option("--C", o->probe.C, "inverse L2 strength (scikit-learn's C)")
      ->capture_default_str();
  sub->add_option("--seed", o->probe.seed, "the first repeat's seed")->capture_default_str();
  sub->add_option("--device", o->device, "auto, cpu or cuda")->capture_default_str();
  sub->add_flag("--force", o->force, "write into an output directory that holds files");
  sub->callback([o] { run(*o); });
}

}  // namespace xent::cli
