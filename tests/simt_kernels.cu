// Compiles the emulator's and its checker's test kernels with nvcc for the GPU: compat.cuh must
// serve both compilers, and g++ accepts device code that nvcc rejects. Built only, never run.
#include "simt_check_kernels.cuh"
#include "simt_kernels.cuh"

namespace simt_test {

// The launch wrapper's nvcc side, with a conversion at the call as in a real launch.
void launch_axpy_for_nvcc(int n, float a, const float* x, float* y, cudaStream_t stream) {
  xent::launch(axpy, dim3(4), dim3(128), 0, stream)(n, a, x, y);
  xent::launch(tree_sum, 2, 64, 64 * sizeof(float), stream)(x, static_cast<short>(n), y);
}

// The checker's template kernels exist for nvcc only once instantiated.
void launch_check_templates_for_nvcc(const float* x, float* y, cudaStream_t stream) {
  xent::launch(simt_check::shift_right<false>, 1, 256, 0, stream)(x, y);
  xent::launch(simt_check::shift_right<true>, 1, 256, 0, stream)(x, y);
  xent::launch(simt_check::warp_swap<false>, 1, 64, 0, stream)(y);
  xent::launch(simt_check::warp_swap<true>, 1, 64, 0, stream)(y);
}

}  // namespace simt_test
