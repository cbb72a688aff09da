// The memory hooks of the race checker: the emulated kernels are compiled with GCC's
// -fsanitize=thread instrumentation but not linked with ThreadSanitizer's runtime; the
// emulator is that runtime. Every load, store and atomic of an instrumented function calls one
// of the functions below, which pass it to the running block's checker (host/simt/check.h) when
// the launch is checked and return at once otherwise. Kernel code needs no change for it.
//
// The atomics must also do their work: the instrumentation replaces the __atomic builtins by
// these calls. They are always sequentially consistent, as compat.cuh's atomics are anyway.
// This file itself must not be instrumented.
#include <cstddef>
#include <cstdint>

#include "check.h"

namespace {

using xent::simt::check::tls_block;

// The return address is the instruction after the call; one byte back is still inside the
// call, whose line is the access's.
inline uintptr_t caller(void* ret) { return reinterpret_cast<uintptr_t>(ret) - 1; }

inline void seen(const volatile void* p, size_t size, bool write, bool atomic, void* ret) {
  if (xent::simt::check::Block* b = tls_block) {
    b->access(reinterpret_cast<uintptr_t>(p), size, write, atomic, caller(ret));
  }
}

}  // namespace

#define XENT_RET __builtin_return_address(0)

extern "C" {

void __tsan_init() { xent::simt::check::note_instrumented(); }
void __tsan_func_entry(void*) {}
void __tsan_func_exit() {}

#define XENT_PLAIN(n)                                                                     \
  void __tsan_read##n(void* p) { seen(p, n, false, false, XENT_RET); }                    \
  void __tsan_write##n(void* p) { seen(p, n, true, false, XENT_RET); }                    \
  void __tsan_unaligned_read##n(void* p) { seen(p, n, false, false, XENT_RET); }          \
  void __tsan_unaligned_write##n(void* p) { seen(p, n, true, false, XENT_RET); }          \
  void __tsan_volatile_read##n(void* p) { seen(p, n, false, false, XENT_RET); }           \
  void __tsan_volatile_write##n(void* p) { seen(p, n, true, false, XENT_RET); }           \
  void __tsan_unaligned_volatile_read##n(void* p) { seen(p, n, false, false, XENT_RET); } \
  void __tsan_unaligned_volatile_write##n(void* p) { seen(p, n, true, false, XENT_RET); }
XENT_PLAIN(1)
XENT_PLAIN(2)
XENT_PLAIN(4)
XENT_PLAIN(8)
XENT_PLAIN(16)
#undef XENT_PLAIN

void __tsan_read_range(void* p, unsigned long size) { seen(p, size, false, false, XENT_RET); }
void __tsan_write_range(void* p, unsigned long size) { seen(p, size, true, false, XENT_RET); }
void __tsan_vptr_read(void**) {}
void __tsan_vptr_update(void**, void*) {}

void __tsan_atomic_thread_fence(int) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
void __tsan_atomic_signal_fence(int) { __atomic_signal_fence(__ATOMIC_SEQ_CST); }

#define XENT_ATOMIC(bits, T)                                                                \
  T __tsan_atomic##bits##_load(const volatile T* a, int) {                                  \
    seen(a, sizeof(T), false, true, XENT_RET);                                              \
    return __atomic_load_n(a, __ATOMIC_SEQ_CST);                                            \
  }                                                                                         \
  void __tsan_atomic##bits##_store(volatile T* a, T v, int) {                               \
    seen(a, sizeof(T), true, true, XENT_RET);                                               \
    __atomic_store_n(a, v, __ATOMIC_SEQ_CST);                                               \
  }                                                                                         \
  T __tsan_atomic##bits##_exchange(volatile T* a, T v, int) {                               \
    seen(a, sizeof(T), true, true, XENT_RET);                                               \
    return __atomic_exchange_n(a, v, __ATOMIC_SEQ_CST);                                     \
  }                                                                                         \
  T __tsan_atomic##bits##_fetch_add(volatile T* a, T v, int) {                              \
    seen(a, sizeof(T), true, true, XENT_RET);                                               \
    return __atomic_fetch_add(a, v, __ATOMIC_SEQ_CST);                                      \
  }                                                                                         \
  T __tsan_atomic##bits##_fetch_sub(volatile T* a, T v, int) {                              \
    seen(a, sizeof(T), true, true, XENT_RET);                                               \
    return __atomic_fetch_sub(a, v, __ATOMIC_SEQ_CST);                                      \
  }                                                                                         \
  T __tsan_atomic##bits##_fetch_and(volatile T* a, T v, int) {                              \
    seen(a, sizeof(T), true, true, XENT_RET);                                               \
    return __atomic_fetch_and(a, v, __ATOMIC_SEQ_CST);                                      \
  }                                                                                         \
  T __tsan_atomic##bits##_fetch_or(volatile T* a, T v, int) {                               \
    seen(a, sizeof(T), true, true, XENT_RET);                                               \
    return __atomic_fetch_or(a, v, __ATOMIC_SEQ_CST);                                       \
  }                                                                                         \
  T __tsan_atomic##bits##_fetch_xor(volatile T* a, T v, int) {                              \
    seen(a, sizeof(T), true, true, XENT_RET);                                               \
    return __atomic_fetch_xor(a, v, __ATOMIC_SEQ_CST);                                      \
  }                                                                                         \
  T __tsan_atomic##bits##_fetch_nand(volatile T* a, T v, int) {                             \
    seen(a, sizeof(T), true, true, XENT_RET);                                               \
    return __atomic_fetch_nand(a, v, __ATOMIC_SEQ_CST);                                     \
  }                                                                                         \
  int __tsan_atomic##bits##_compare_exchange_strong(volatile T* a, T* c, T v, int, int) {   \
    seen(a, sizeof(T), true, true, XENT_RET);                                               \
    return __atomic_compare_exchange_n(a, c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
  }                                                                                         \
  int __tsan_atomic##bits##_compare_exchange_weak(volatile T* a, T* c, T v, int, int) {     \
    seen(a, sizeof(T), true, true, XENT_RET);                                               \
    return __atomic_compare_exchange_n(a, c, v, true, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);  \
  }                                                                                         \
  T __tsan_atomic##bits##_compare_exchange_val(volatile T* a, T c, T v, int, int) {         \
    seen(a, sizeof(T), true, true, XENT_RET);                                               \
    __atomic_compare_exchange_n(a, &c, v, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);       \
    return c;                                                                               \
  }
XENT_ATOMIC(8, int8_t)
XENT_ATOMIC(16, int16_t)
XENT_ATOMIC(32, int32_t)
XENT_ATOMIC(64, int64_t)
#undef XENT_ATOMIC

}  // extern "C"
