// 3D Shapes batches on the device: images coloured from the ray-cast views, so that no dataset
// of 480,000 float images exists anywhere (include/xent/shapes3d.h).
#pragma once
#include "api.h"

namespace xent::kernels {
inline namespace XENT_KERNELS_ABI {

// The same as xent::cpu::render_shapes3d, bit for bit: row r of images [n][kValues] is image
// number index[first + r], first = (*batches_done % period) * n (0 when batches_done is null,
// which is read when the kernel runs, so that a replayed graph takes the current batch);
// labels [n] (may be null) receives the shape. views (render_views()) and images must be
// 16-byte aligned (the tables are read as floats, the images written as float4s).
void render_shapes3d(const uint8_t* views, const int32_t* index, const int64_t* batches_done,
                     int64_t period, int64_t n, float* images, int32_t* labels,
                     cudaStream_t stream);

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
