// The DGP and the probe: xent.sample, xent.DgpSource and xent.probe.
#include <nanobind/stl/string.h>

#include <memory>
#include <utility>

#include "module.h"
#include "xent/backend.h"
#include "xent/metrics.h"

namespace xent::py {
namespace {

using Array2 = nb::ndarray<const double, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

// Batch t of a replica's training stream, drawn by a backend into its own memory: on the CPU
// the arrays are numpy's, on a GPU they stay on the device and leave through DLPack.
class DgpSource {
 public:
  DgpSource(const PyConfig& c, const std::string& device)
      : g_(c.config.dgp), seed_(c.config.train.seed), batch_(c.config.train.batch) {
    BackendOptions o;
    o.device = device;
    o.threads = c.config.train.threads;
    backend_ = make_backend(o);
    centres_ = DeviceArray<float>(*backend_, static_cast<size_t>(g_.clusters * g_.d));
    centres_.upload(draw_centres(g_, seed_));
    mixing_ = DeviceArray<float>(*backend_, static_cast<size_t>(g_.mixing_layers * g_.d * g_.d));
    mixing_.upload(draw_mixing(g_, seed_, c.config.train.threads));
  }

  // (x, z, labels) of training step t + 1 (the step that has done t before it).
  nb::tuple batch(uint64_t t) {
    const auto rows = static_cast<size_t>(batch_);
    const auto d = static_cast<size_t>(g_.d);
    auto z = std::make_shared<DeviceArray<float>>(*backend_, rows * d);
    auto x = std::make_shared<DeviceArray<float>>(*backend_, rows * d);
    auto labels = std::make_shared<DeviceArray<int32_t>>(*backend_, rows);
    {
      nb::gil_scoped_release release;
      backend_->sample_latents({g_}, {seed_}, centres_.data(), RngPurpose::Train, t * rows, nullptr,
                               batch_, z->data(), labels->data(), nullptr);
      backend_->mixing_forward(1, g_.mixing_layers, g_.d, mixing_.data(), z->data(), batch_,
                               x->data());
      backend_->synchronize();
    }
    return nb::make_tuple(wrap(x, {rows, d}), wrap(z, {rows, d}), wrap(labels, {rows}));
  }

  std::string device() const { return backend_->name(); }

 private:
  // The array owns its backend memory, and the backend with it, however long Python keeps it.
  template <class T>
  nb::object wrap(std::shared_ptr<DeviceArray<T>> a, const std::vector<size_t>& shape) {
    struct Owner {
      std::shared_ptr<Backend> backend;
      std::shared_ptr<DeviceArray<T>> array;
    };
    auto* owner = new Owner{backend_, std::move(a)};
    nb::capsule cap(owner, [](void* p) noexcept { delete static_cast<Owner*>(p); });
    T* data = owner->array->data();
    if (backend_->name().rfind("cpu", 0) == 0)
      return nb::ndarray<nb::numpy, T>(data, shape.size(), shape.data(), cap).cast();
    return nb::ndarray<T, nb::device::cuda>(data, shape.size(), shape.data(), cap).cast();
  }

  DgpParams g_;
  uint64_t seed_;
  int64_t batch_;
  std::shared_ptr<Backend> backend_;
  DeviceArray<float> centres_, mixing_;
};

}  // namespace

void bind_data(nb::module_& m) {
  m.def(
      "sample",
      [](const PyConfig& c, int64_t n) {
        DgpSamples s;
        {
          nb::gil_scoped_release release;
          s = draw_samples(c.config.dgp, c.config.train.seed, n);
        }
        const auto rows = static_cast<size_t>(n);
        const auto d = static_cast<size_t>(c.config.dgp.d);
        const DgpParams& g = c.config.dgp;
        nb::dict out;
        out["latents"] = to_numpy(std::move(s.z), {rows, d});
        out["observations"] = to_numpy(std::move(s.x), {rows, d});
        out["labels"] = to_numpy(std::move(s.labels), {rows});
        out["clusters"] = to_numpy(std::move(s.clusters), {rows});
        out["centres"] = to_numpy(std::move(s.centres), {static_cast<size_t>(g.clusters), d});
        out["mixing"] = to_numpy(std::move(s.mixing), {static_cast<size_t>(g.mixing_layers), d, d});
        return out;
      },
      nb::arg("config"), nb::arg("n"));

  m.def(
      "probe",
      [](Array2 features, Array2 targets, double split, double scale) {
        const auto n = static_cast<int64_t>(features.shape(0));
        const auto p = static_cast<int>(features.shape(1));
        const auto q = static_cast<int>(targets.shape(1));
        ProbeRows rows;
        ProbeResult r;
        {
          nb::gil_scoped_release release;
          rows = probe_rows(n, p, q, split, scale);
          r = probe_linear(features.data(), n, p, targets.data(), q, split, scale);
        }
        nb::dict out;
        out["r2_a"] = r.r2_a;
        out["r2_o"] = r.r2_o;
        out["mae_o"] = r.mae_o;
        out["mcc"] = r.mcc;
        out["n_fit"] = rows.fit_end;
        out["n_score"] = n - rows.score_begin;
        return out;
      },
      nb::arg("features"), nb::arg("targets"), nb::arg("split"), nb::arg("scale"));

  nb::class_<DgpSource>(m, "DgpSource")
      .def(nb::init<const PyConfig&, const std::string&>(), nb::arg("config"), nb::arg("device"))
      .def("batch", &DgpSource::batch, nb::arg("t"))
      .def_prop_ro("device", &DgpSource::device);
}

}  // namespace xent::py
