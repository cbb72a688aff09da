// xent dsprites: the paper's DisLib experiment (Table 4) on a rendered dSprites. --render writes
// a contact sheet of the renderer; --train trains the shape classifier, probes its
// representation and the raw pixels, and writes DIR/config.json, DIR/metrics.jsonl and
// DIR/summary.json.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "experiments/dsprites_train.h"
#include "io/files.h"
#include "io/metrics_files.h"
#include "io/progress.h"
#include "xent/error.h"
#include "xent/run.h"

namespace xent::cli {
namespace {

using namespace xent::dsprites;

struct DspritesArgs {
  std::string render;
  bool train = false;
  TrainOptions o;
  std::string device = "auto";
  std::string out;
  bool force = false;
  bool quiet = false;
};

// Rows: every shape at every scale; columns: ten orientations at the centre, then the top-left
// and bottom-right positions.
void render_sheet(const std::string& path) {
  std::vector<int64_t> images;
  for (int shape = 0; shape < kShapes; ++shape)
    for (int scale = 0; scale < kScales; ++scale) {
      for (int o = 0; o < 40; o += 4) images.push_back(image_of({shape, scale, o, 15, 15}));
      images.push_back(image_of({shape, scale, 0, 0, 0}));
      images.push_back(image_of({shape, scale, 0, kPositions - 1, kPositions - 1}));
    }
  write_contact_sheet(path, render_masks(), images, 12);
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

nlohmann::json scores_json(const ProbeScores& s) {
  nlohmann::json j;
  for (int k = 0; k < kTargets; ++k) j[kTargetNames[k]] = s[static_cast<size_t>(k)];
  return j;
}

void print_table(const ProbeScores& mlp, const ProbeScores* pixels) {
  std::printf("\nPearson r of a linear probe (no intercept) to each z-scored factor, test split\n");
  std::printf("%-12s", "features");
  for (const char* n : kTargetNames) std::printf(" %16s", n);
  std::printf("\n%-12s", "MLP");
  for (double r : mlp) std::printf(" %16.3f", r);
  if (pixels) {
    std::printf("\n%-12s", "raw pixels");
    for (double r : *pixels) std::printf(" %16.3f", r);
  }
  std::printf("\n%-12s %16s %16s %16s %16s %16s %16s\n", "paper MLP", ".94", ".98", "-", "-", ".97",
              ".97");
  std::printf("%-12s %16s %16s %16s %16s %16s %16s\n", "paper pixels", ".26", ".62", "-", "-",
              ".92", ".92");
}

void run_train(const DspritesArgs& a) {
  const TrainOptions& o = a.o;
  o.validate();
  BackendOptions bo;
  bo.device = a.device;
  auto backend = make_backend(bo);
  std::string out = a.out;
  if (out.empty()) {
    char stamp[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", std::localtime(&now));
    out = std::string("runs/dsprites-") + stamp;
  }
  prepare_output_dir(out, a.force);
  const nlohmann::json config = {{"epochs", o.epochs},
                                 {"steps", o.total_steps()},
                                 {"batch", o.batch},
                                 {"lr", o.lr},
                                 {"width", o.width},
                                 {"layers", o.layers},
                                 {"seed", o.seed},
                                 {"split_seed", o.split_seed},
                                 {"probe_fit", o.probe_fit},
                                 {"probe_score", o.probe_score},
                                 {"probe_pixels", o.probe_pixels},
                                 {"eval_every", o.eval_every},
                                 {"device", backend->name()}};
  write_file_atomic(out + "/config.json", config.dump(2) + "\n");
  std::remove((out + "/summary.json").c_str());
  JsonlSink metrics(out + "/metrics.jsonl", false);

  const int64_t steps = o.total_steps();
  if (!a.quiet)
    std::fprintf(stderr,
                 "xent: dSprites shape classifier, %d x %d units, %lld steps of batch %d "
                 "(%lld per epoch) on %s -> %s\n",
                 o.layers, o.width, static_cast<long long>(steps), o.batch,
                 static_cast<long long>(o.steps_per_epoch()), backend->name().c_str(), out.c_str());
  const auto t0 = std::chrono::steady_clock::now();
  ShapeClassifier model(*backend, o);
  const Split& split = model.split();
  const std::vector<int32_t> fit(split.val.begin(), split.val.begin() + o.probe_fit);
  const std::vector<int32_t> score(split.test.begin(), split.test.begin() + o.probe_score);

  ClassifierRun job(model, o, fit);
  RunSpec spec;
  spec.started = t0;
  spec.progress_bar = !a.quiet && stderr_is_terminal();
  spec.log_evaluations = !a.quiet;
  const RunOutcome r = run(job, metrics, spec);
  const double train_s = r.train_s;
  const EvalResult last{metric(r.metrics[0], "val_loss"), metric(r.metrics[0], "val_acc")};

  if (!a.quiet) std::fprintf(stderr, "xent: probing the representation\n");
  const auto t_probe = std::chrono::steady_clock::now();
  const ProbeScores mlp =
      probe_factors(fit, score, o.width, o.batch, [&](const int32_t* images, int64_t n, float* f) {
        model.evaluate(std::vector<int32_t>(images, images + n), f);
      });
  const double probe_s = seconds_since(t_probe);
  ProbeScores pixels{};
  double pixel_s = 0;
  if (o.probe_pixels) {
    if (!a.quiet) std::fprintf(stderr, "xent: probing raw pixels (a 4096 x 4096 solve)\n");
    const auto t_pix = std::chrono::steady_clock::now();
    pixels = probe_pixels(model.masks(), fit, score);
    pixel_s = seconds_since(t_pix);
  }
  const double wall = seconds_since(t0);
  nlohmann::json summary = {
      {"backend", backend->name()},
      {"steps", steps},
      {"epochs", static_cast<double>(steps) / static_cast<double>(o.steps_per_epoch())},
      {"val_acc", last.acc},
      {"val_loss", last.loss},
      {"probe_fit_rows", o.probe_fit},
      {"probe_score_rows", o.probe_score},
      {"pearson_r_mlp", scores_json(mlp)},
      {"train_s", train_s},
      {"steps_per_s", static_cast<double>(steps) / train_s},
      {"steady_steps", r.steady_steps},
      {"steady_steps_per_s",
       r.steady_s > 0 ? static_cast<double>(r.steady_steps) / r.steady_s : 0.0},
      {"probe_mlp_s", probe_s},
      {"wall_s", wall}};
  if (o.probe_pixels) {
    summary["pearson_r_pixels"] = scores_json(pixels);
    summary["probe_pixels_s"] = pixel_s;
  }
  write_file_atomic(out + "/summary.json", summary.dump(2) + "\n");
  if (!a.quiet) {
    print_table(mlp, o.probe_pixels ? &pixels : nullptr);
    std::printf(
        "\n%lld steps in %.1f s (%.2f steps/s), validation accuracy %.4f; %.1f s in "
        "all. Results: %s/summary.json\n",
        static_cast<long long>(steps), train_s, static_cast<double>(steps) / train_s, last.acc,
        wall, out.c_str());
  }
}

}  // namespace

void add_dsprites(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "dsprites",
      "The paper's dSprites experiment (Table 4) on a procedurally rendered dSprites: "
      "--train trains the DisLib MLP to classify shape and reports how well a linear probe on "
      "its representation, and on raw pixels, recovers every factor; --render draws a contact "
      "sheet of the renderer.");
  auto a = std::make_shared<DspritesArgs>();
  cmd->add_option("--render", a->render, "Write a PNG contact sheet of rendered images to FILE")
      ->type_name("FILE");
  cmd->add_flag("--train", a->train, "Train the shape classifier and probe it");
  cmd->add_option("--epochs", a->o.epochs, "Epochs over the training split (80%)")
      ->capture_default_str();
  cmd->add_option("--steps", a->o.steps, "Train this many steps instead (0: use --epochs)")
      ->capture_default_str();
  cmd->add_option("--batch", a->o.batch, "Batch size")->capture_default_str();
  cmd->add_option("--lr", a->o.lr, "Adam learning rate")->capture_default_str();
  cmd->add_option("--width", a->o.width, "Units per hidden layer")->capture_default_str();
  cmd->add_option("--layers", a->o.layers, "Hidden layers (Linear + BatchNorm + ReLU)")
      ->capture_default_str();
  cmd->add_option("--seed", a->o.seed, "Initialisation and batch order")->capture_default_str();
  cmd->add_option("--split-seed", a->o.split_seed, "The fixed 80/10/10 split's permutation")
      ->capture_default_str();
  cmd->add_option("--probe-fit", a->o.probe_fit, "Validation images that fit each probe")
      ->capture_default_str();
  cmd->add_option("--probe-score", a->o.probe_score, "Test images that score each probe")
      ->capture_default_str();
  cmd->add_option("--probe-pixels", a->o.probe_pixels,
                  "Also probe raw pixels, the baseline (true/false)")
      ->capture_default_str();
  cmd->add_option("--eval-every", a->o.eval_every,
                  "Validation loss and accuracy every N steps (0: every epoch)")
      ->capture_default_str();
  cmd->add_option("--device", a->device, "auto, cpu or cuda (auto: cuda when present)")
      ->capture_default_str();
  cmd->add_option("--out", a->out,
                  "Output directory for config.json, metrics.jsonl and summary.json (default: "
                  "runs/dsprites-<time>)");
  cmd->add_flag("--force", a->force, "Reuse an --out directory that already holds files");
  cmd->add_flag("-q,--quiet", a->quiet, "No progress or summary output");
  cmd->footer(
      "\nThe images: 3 shapes x 6 scales x 40 orientations x 32 x 32 positions, 64 x 64 binary, "
      "rendered from 720 sprite masks as batches are drawn (include/xent/dsprites.h). The model: "
      "--layers x (Linear --width + BatchNorm + ReLU) on the 4096 pixels, a linear layer to the "
      "3 shapes, softmax cross-entropy, Adam. The probe: least squares without intercept from "
      "the last hidden layer (or the pixels) to each z-scored factor, fitted on --probe-fit "
      "validation images, Pearson r on --probe-score test images.\n\nExample (the Table 4 row): "
      "xent dsprites --train --epochs 3 --out runs/dsprites\n");
  cmd->callback([a] {
    if (a->render.empty() && !a->train)
      throw InputError("dsprites: nothing to do: give --train, --render FILE, or both");
    if (!a->render.empty()) {
      render_sheet(a->render);
      if (!a->quiet) std::fprintf(stderr, "xent: wrote %s\n", a->render.c_str());
    }
    if (a->train) run_train(*a);
  });
}

}  // namespace xent::cli
