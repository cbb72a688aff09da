// The DGP and the probe: xent.sample, xent.DgpSource and xent.probe.
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "module.h"
#if XENT_HAVE_CUDA_BACKEND
#include "cuda/cuda_backend.h"
#include "cuda/export_pool.h"
#endif
#include "xent/backend.h"
#include "xent/metrics.h"

namespace xent::py {
namespace {

using Array2 = nb::ndarray<const double, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

#if XENT_HAVE_CUDA_BACKEND
// One array of a batch on the GPU: a view of a pooled buffer (cuda::ExportPool) that leaves
// through DLPack. __dlpack__(stream=s) orders the consumer's stream s after the batch's draw
// and the buffer's reuse after what s queued before the array was released (the pool's rule);
// None or -1 mean the legacy default stream, as the array API has it for None.
struct CudaArray {
  std::shared_ptr<cuda::ExportPool::Lease> lease;
  size_t offset = 0;  // bytes into the buffer
  std::vector<size_t> shape;
  nb::dlpack::dtype dtype;
  int device = 0;
};

cudaStream_t consumer_stream(nb::handle stream) {
  if (stream.is_none()) return cudaStreamLegacy;
  if (!nb::isinstance<nb::int_>(stream))
    throw nb::type_error("__dlpack__: stream must be an int (a CUDA stream) or None");
  const auto v = nb::cast<int64_t>(stream);
  if (v == -1 || v == 0) return cudaStreamLegacy;
  // 1 and 2 are the numbers CUDA gives cudaStreamLegacy and cudaStreamPerThread themselves.
  return reinterpret_cast<cudaStream_t>(static_cast<intptr_t>(v));
}

nb::object dlpack(const CudaArray& a, nb::handle stream, nb::handle max_version,
                  nb::handle dl_device, nb::handle copy) {
  a.lease->export_to(consumer_stream(stream));
  using Lease = std::shared_ptr<cuda::ExportPool::Lease>;
  auto* owner = new Lease(a.lease);
  nb::capsule cap(owner, [](void* p) noexcept { delete static_cast<Lease*>(p); });
  void* data = static_cast<char*>(a.lease->data()) + a.offset;
  nb::object array = nb::ndarray<>(data, a.shape.size(), a.shape.data(), cap, nullptr, a.dtype,
                                   nb::device::cuda::value, a.device)
                         .cast();
  // nanobind's own __dlpack__ checks the other arguments and makes the capsule.
  nb::kwargs kw;
  kw["max_version"] = max_version;
  kw["dl_device"] = dl_device;
  kw["copy"] = copy;
  return array.attr("__dlpack__")(**kw);
}
#endif

// Batch t of a replica's training stream, drawn by a backend into its own memory: on the CPU
// numpy arrays, on a GPU CudaArrays in buffers of a pool that the arrays hand back when the
// consumer is done with them (no allocation, free or host wait per batch).
class DgpSource {
 public:
  DgpSource(const PyConfig& c, const std::string& device)
      : g_(c.config.dgp), seed_(c.config.train.seed), batch_(c.config.train.batch) {
    BackendOptions o;
    o.device = device;
    o.threads = c.config.train.threads;
    backend_ = make_backend(o);
    name_ = backend_->name();
    centres_ = DeviceArray<float>(*backend_, static_cast<size_t>(g_.clusters * g_.d));
    centres_.upload(draw_centres(g_, seed_));
    mixing_ = DeviceArray<float>(*backend_, static_cast<size_t>(g_.mixing_layers * g_.d * g_.d));
    mixing_.upload(draw_mixing(g_, seed_, c.config.train.threads));
#if XENT_HAVE_CUDA_BACKEND
    if (auto* cuda = dynamic_cast<cuda::CudaBackend*>(backend_.get())) {
      const size_t floats = aligned(static_cast<size_t>(batch_ * g_.d) * sizeof(float));
      pool_.emplace(std::shared_ptr<cuda::CudaBackend>(backend_, cuda),
                    2 * floats + static_cast<size_t>(batch_) * sizeof(int32_t));
      device_id_ = cuda->options().device;
    }
#endif
  }

  // (x, z, labels) of training step t + 1 (the step that has done t before it).
  nb::tuple batch(uint64_t t) {
    const auto rows = static_cast<size_t>(batch_);
    const auto d = static_cast<size_t>(g_.d);
#if XENT_HAVE_CUDA_BACKEND
    if (pool_) {
      std::shared_ptr<cuda::ExportPool::Lease> lease;
      const size_t floats = aligned(rows * d * sizeof(float));
      {
        nb::gil_scoped_release release;
        lease = pool_->acquire();
        char* p = static_cast<char*>(lease->data());
        draw(t, reinterpret_cast<float*>(p + floats), reinterpret_cast<float*>(p),
             reinterpret_cast<int32_t*>(p + 2 * floats));
      }
      const auto f32 = nb::dtype<float>(), i32 = nb::dtype<int32_t>();
      return nb::make_tuple(CudaArray{lease, 0, {rows, d}, f32, device_id_},
                            CudaArray{lease, floats, {rows, d}, f32, device_id_},
                            CudaArray{lease, 2 * floats, {rows}, i32, device_id_});
    }
#endif
    auto z = std::make_shared<DeviceArray<float>>(*backend_, rows * d);
    auto x = std::make_shared<DeviceArray<float>>(*backend_, rows * d);
    auto labels = std::make_shared<DeviceArray<int32_t>>(*backend_, rows);
    {
      nb::gil_scoped_release release;
      draw(t, z->data(), x->data(), labels->data());
      backend_->synchronize();
    }
    return nb::make_tuple(numpy(x, {rows, d}), numpy(z, {rows, d}), numpy(labels, {rows}));
  }

  const std::string& device() const { return name_; }

 private:
  // A numpy array of the CPU backend's memory, which it owns, and the backend with it, however
  // long Python keeps it.
  template <class T>
  nb::object numpy(std::shared_ptr<DeviceArray<T>> a, const std::vector<size_t>& shape) {
    struct Owner {
      std::shared_ptr<Backend> backend;
      std::shared_ptr<DeviceArray<T>> array;
    };
    auto* owner = new Owner{backend_, std::move(a)};
    nb::capsule cap(owner, [](void* p) noexcept { delete static_cast<Owner*>(p); });
    return nb::ndarray<nb::numpy, T>(owner->array->data(), shape.size(), shape.data(), cap).cast();
  }

  // The arrays' offsets in a pooled buffer, aligned as cudaMalloc aligns.
  static size_t aligned(size_t bytes) { return (bytes + 255) / 256 * 256; }

  // Into the backend's memory, in stream order (no wait).
  void draw(uint64_t t, float* z, float* x, int32_t* labels) {
    const auto rows = static_cast<uint64_t>(batch_);
    backend_->sample_latents({g_}, {seed_}, centres_.data(), RngPurpose::Train, t * rows, nullptr,
                             batch_, z, labels, nullptr);
    backend_->mixing_forward(1, g_.mixing_layers, g_.d, mixing_.data(), z, batch_, x);
  }

  DgpParams g_;
  uint64_t seed_;
  int64_t batch_;
  std::shared_ptr<Backend> backend_;
  std::string name_;
  DeviceArray<float> centres_, mixing_;
#if XENT_HAVE_CUDA_BACKEND
  std::optional<cuda::ExportPool> pool_;
  int device_id_ = 0;
#endif
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

#if XENT_HAVE_CUDA_BACKEND
  nb::class_<CudaArray>(m, "CudaArray")
      .def("__dlpack__", &dlpack, nb::kw_only(), nb::arg("stream") = nb::none(),
           nb::arg("max_version") = nb::none(), nb::arg("dl_device") = nb::none(),
           nb::arg("copy") = nb::none())
      .def("__dlpack_device__",
           [](const CudaArray& a) { return nb::make_tuple(nb::int_(2), nb::int_(a.device)); })
      .def_prop_ro("shape", [](const CudaArray& a) { return nb::tuple(nb::cast(a.shape)); })
      .def_prop_ro("dtype", [](const CudaArray& a) {
        return std::string(a.dtype.code == static_cast<uint8_t>(nb::dlpack::dtype_code::Int)
                               ? "int32"
                               : "float32");
      });
#endif
  nb::class_<DgpSource>(m, "DgpSource")
      .def(nb::init<const PyConfig&, const std::string&>(), nb::arg("config"), nb::arg("device"))
      .def("batch", &DgpSource::batch, nb::arg("t"))
      .def_prop_ro("device", &DgpSource::device);
}

}  // namespace xent::py
