// The memory hooks of the race checker: the emulated kernels are compiled with GCC's
// -fsanitize=thread instrumentation but not linked with ThreadSanitizer's runtime; the
// emulator is that runtime. Every load, store and atomic of an instrumented function calls one
// of the functions below, which pass it to the running block's checker (tests/simt/check.h) when
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

// The declarations are GCC's own (its built-in declarations of the ThreadSanitizer interface,
// which a sanitizer build of this file checks them against).
void __tsan_init() { xent::simt::check::note_instrumented(); }
// Emitted unless --param=tsan-instrument-func-entry-exit=0, as CMakeLists.txt passes.
void __tsan_func_entry(void*) {}
void __tsan_func_exit(void*) {}

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

void __tsan_read_range(void* p, long size) {
  seen(p, static_cast<size_t>(size), false, false, XENT_RET);
}
void __tsan_write_range(void* p, long size) {
  seen(p, static_cast<size_t>(size), true, false, XENT_RET);
}
void __tsan_vptr_update(void*, void*) {}

void __tsan_atomic_thread_fence(int) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
void __tsan_atomic_signal_fence(int) { __atomic_signal_fence(__ATOMIC_SEQ_CST); }

#define XENT_RMW(bits, T, name, builtin)                              \
  T __tsan_atomic##bits##_##name(volatile void* a, T v, int) {        \
    seen(a, sizeof(T), true, true, XENT_RET);                         \
    return builtin(static_cast<volatile T*>(a), v, __ATOMIC_SEQ_CST); \
  }
#define XENT_ATOMIC(bits, T)                                                                      \
  T __tsan_atomic##bits##_load(const volatile void* a, int) {                                     \
    seen(a, sizeof(T), false, true, XENT_RET);                                                    \
    return __atomic_load_n(static_cast<const volatile T*>(a), __ATOMIC_SEQ_CST);                  \
  }                                                                                               \
  void __tsan_atomic##bits##_store(volatile void* a, T v, int) {                                  \
    seen(a, sizeof(T), true, true, XENT_RET);                                                     \
    __atomic_store_n(static_cast<volatile T*>(a), v, __ATOMIC_SEQ_CST);                           \
  }                                                                                               \
  XENT_RMW(bits, T, exchange, __atomic_exchange_n)                                                \
  XENT_RMW(bits, T, fetch_add, __atomic_fetch_add)                                                \
  XENT_RMW(bits, T, fetch_sub, __atomic_fetch_sub)                                                \
  XENT_RMW(bits, T, fetch_and, __atomic_fetch_and)                                                \
  XENT_RMW(bits, T, fetch_or, __atomic_fetch_or)                                                  \
  XENT_RMW(bits, T, fetch_xor, __atomic_fetch_xor)                                                \
  XENT_RMW(bits, T, fetch_nand, __atomic_fetch_nand)                                              \
  bool __tsan_atomic##bits##_compare_exchange_strong(volatile void* a, void* c, T v, int, int) {  \
    seen(a, sizeof(T), true, true, XENT_RET);                                                     \
    return __atomic_compare_exchange_n(static_cast<volatile T*>(a), static_cast<T*>(c), v, false, \
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                       \
  }                                                                                               \
  bool __tsan_atomic##bits##_compare_exchange_weak(volatile void* a, void* c, T v, int, int) {    \
    seen(a, sizeof(T), true, true, XENT_RET);                                                     \
    return __atomic_compare_exchange_n(static_cast<volatile T*>(a), static_cast<T*>(c), v, true,  \
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);                       \
  }
XENT_ATOMIC(8, unsigned char)
XENT_ATOMIC(16, unsigned short)
XENT_ATOMIC(32, unsigned int)
XENT_ATOMIC(64, unsigned long)
#undef XENT_ATOMIC
#undef XENT_RMW

}  // extern "C"
