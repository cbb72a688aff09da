// dSprites batches on the device: images built from the sprite masks, so that no dataset of
// 737,280 float images exists anywhere (include/xent/dsprites.h).
#pragma once
#include "api.h"

namespace xent::kernels {
inline namespace XENT_KERNELS_ABI {

// The same as xent::cpu::render_sprites: row r of images [n][4096] is image number
// index[first + r], first = (*batches_done % period) * n (0 when batches_done is null, which is
// read when the kernel runs, so that a replayed graph takes the current batch); labels [n] (may
// be null) receives the shape. images must be 16-byte aligned (it is written as float4s).
void render_sprites(const uint8_t* masks, const int32_t* index, const int64_t* batches_done,
                    int64_t period, int64_t n, float* images, int32_t* labels, cudaStream_t stream);

}  // namespace XENT_KERNELS_ABI
}  // namespace xent::kernels
