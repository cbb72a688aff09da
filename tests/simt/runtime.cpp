// The subset of the CUDA runtime that host code needs to drive emulated kernels, on host memory.
//
// Streams are synchronous: every call runs to completion before it returns, in issue order, so
// events and graph replays see the same order a single in-order GPU stream gives. Stream capture
// records the calls into a graph, a list of closures that cudaGraphLaunch replays. Calls that a
// real capture forbids (synchronous copies, allocation, synchronisation, work on the legacy
// stream) invalidate the capture here too, so that code which passes under the emulator does not
// first fail when a GPU captures it.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "internal.h"

// A node's kind, for cudaGraphGetNodes / cudaGraphNodeGetType (the kernel count per step).
struct CUgraphNode_st {
  cudaGraphNodeType type;
};

struct CUgraph_st {
  std::vector<std::function<void()>> nodes;
  std::vector<CUgraphNode_st> kinds;  // nodes[i]'s; cudaGraphGetNodes hands out &kinds[i]
};

struct CUgraphExec_st {
  std::vector<std::function<void()>> nodes;
};

struct CUstream_st {
  unsigned flags = 0;
  bool capturing = false;
  bool invalidated = false;
  cudaStreamCaptureMode mode = cudaStreamCaptureModeGlobal;
  CUgraph_st* graph = nullptr;
};

struct CUevent_st {
  unsigned flags = 0;
  bool recorded = false;
  std::chrono::steady_clock::time_point when;
};

namespace xent::simt {
namespace {

using detail::format;

constexpr int kDefaultSharedLimit = 48 * 1024;  // without cudaFuncSetAttribute, as on the device
constexpr int kOptinSharedLimit = 227 * 1024;   // H100/H200 opt-in maximum per block
// The SM count the emulator reports: an H200's, fixed, not its worker threads. Launchers size
// grid-stride grids from it (kernels/grid.cuh), so emulated launches get the grids they get on
// the GPU the kernels are tuned for, on any machine and whatever XENT_SIMT_THREADS says.
constexpr int kMultiprocessors = 132;

thread_local cudaError_t tls_last_error = cudaSuccess;

cudaError_t fail(cudaError_t e) {
  tls_last_error = e;
  return e;
}

enum class Kind : uint8_t { kDevice, kHost };

struct Registry {
  std::mutex mutex;
  std::map<const void*, std::pair<size_t, Kind>> allocations;
  std::map<const void*, int> shared_limits;  // per kernel, from cudaFuncSetAttribute
  std::vector<CUstream_st*> capturing;       // streams with a capture in progress
  size_t allocated = 0;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: static-destruction order is moot
  return *r;
}

size_t physical_memory() {
  return static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

// Quiet-NaN words: a kernel that reads memory nobody wrote computes NaN.
void fill_nan(void* p, size_t bytes) {
  static constexpr unsigned char kNaN[4] = {0x00, 0x00, 0xc0, 0x7f};
  auto* b = static_cast<unsigned char*>(p);
  for (size_t i = 0; i < bytes; ++i) b[i] = kNaN[i % 4];
}

cudaError_t allocate(void** out, size_t bytes, Kind kind) {
  if (out == nullptr) return fail(cudaErrorInvalidValue);
  void* p = nullptr;
  // The exact size, so that AddressSanitizer reports the first byte past the end.
  if (posix_memalign(&p, 256, bytes == 0 ? 1 : bytes) != 0) return fail(cudaErrorMemoryAllocation);
  fill_nan(p, bytes);
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.allocations[p] = {bytes, kind};
  r.allocated += bytes;
  *out = p;
  return cudaSuccess;
}

cudaError_t release(void* p, Kind kind) {
  if (p == nullptr) return cudaSuccess;
  Registry& r = registry();
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.allocations.find(p);
    if (it == r.allocations.end() || it->second.second != kind) return fail(cudaErrorInvalidValue);
    r.allocated -= it->second.first;
    r.allocations.erase(it);
  }
  std::free(p);
  return cudaSuccess;
}

// A call a capture does not allow: CUDA then invalidates every capture in progress in global
// mode (the default) and fails the call.
cudaError_t check_unsafe_during_capture(cudaError_t error = cudaErrorStreamCaptureUnsupported) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  bool prohibited = false;
  for (CUstream_st* s : r.capturing) {
    if (s->mode == cudaStreamCaptureModeRelaxed) continue;
    s->invalidated = true;
    prohibited = true;
  }
  return prohibited ? fail(error) : cudaSuccess;
}

}  // namespace
}  // namespace xent::simt

// The handles CUDA predefines (cudaStreamLegacy, cudaStreamPerThread) are no stream objects
// of the emulator's: they run work like the null stream.
static bool predefined(cudaStream_t s) {
  return s == nullptr || s == cudaStreamLegacy || s == cudaStreamPerThread;
}

namespace xent::simt {
namespace {

// Either runs `op` now or appends it to the stream's capture.

cudaError_t submit(cudaStream_t stream, cudaGraphNodeType type, std::function<void()> op) {
  if (predefined(stream)) {
    // The legacy stream synchronises with every other stream: not capturable.
    if (const cudaError_t e = check_unsafe_during_capture(cudaErrorStreamCaptureImplicit)) return e;
    op();
    return cudaSuccess;
  }
  if (stream->capturing) {
    if (stream->invalidated) return fail(cudaErrorStreamCaptureInvalidated);
    stream->graph->nodes.push_back(std::move(op));
    stream->graph->kinds.push_back({type});
    return cudaSuccess;
  }
  op();
  return cudaSuccess;
}

bool valid_kind(cudaMemcpyKind kind) {
  return kind >= cudaMemcpyHostToHost && kind <= cudaMemcpyDefault;
}

cudaError_t copy(void* dst, const void* src, size_t count, cudaMemcpyKind kind,
                 cudaStream_t stream) {
  if (!valid_kind(kind)) return fail(cudaErrorInvalidMemcpyDirection);
  if (count == 0) return cudaSuccess;
  if (dst == nullptr || src == nullptr) return fail(cudaErrorInvalidValue);
  return submit(stream, cudaGraphNodeTypeMemcpy,
                [dst, src, count] { std::memcpy(dst, src, count); });
}

cudaError_t fill(void* dst, int value, size_t count, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  if (dst == nullptr) return fail(cudaErrorInvalidValue);
  return submit(stream, cudaGraphNodeTypeMemset,
                [dst, value, count] { std::memset(dst, value, count); });
}

}  // namespace

namespace detail {

std::vector<std::pair<uintptr_t, uintptr_t>> device_ranges() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::pair<uintptr_t, uintptr_t>> out;
  out.reserve(r.allocations.size());
  for (const auto& [p, a] : r.allocations) {
    const auto begin = reinterpret_cast<uintptr_t>(p);
    out.emplace_back(begin, begin + a.first);
  }
  return out;  // std::map keeps them sorted by address
}

}  // namespace detail

void launch(const LaunchParams& p, std::function<void()> body) {
  const dim3 g = p.grid, b = p.block;
  const uint64_t threads = uint64_t{b.x} * b.y * b.z;
  if (g.x == 0 || g.y == 0 || g.z == 0 || b.x == 0 || b.y == 0 || b.z == 0 || threads > 1024 ||
      b.x > 1024 || b.y > 1024 || b.z > 64 || g.x > 0x7fffffffu || g.y > 65535 || g.z > 65535) {
    fail(cudaErrorInvalidConfiguration);
    return;
  }
  int limit = kDefaultSharedLimit;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.shared_limits.find(p.kernel);
    if (it != r.shared_limits.end()) limit = it->second;
  }
  if (p.shared_bytes > static_cast<size_t>(limit)) {
    fail(cudaErrorInvalidValue);
    return;
  }
  submit(p.stream, cudaGraphNodeTypeKernel,
         [p, body = std::move(body)] { detail::run_grid(p, body); });
}

}  // namespace xent::simt

using xent::simt::fail;

extern "C" {

cudaError_t cudaMalloc(void** devPtr, size_t size) {
  if (const cudaError_t e = xent::simt::check_unsafe_during_capture()) return e;
  return xent::simt::allocate(devPtr, size, xent::simt::Kind::kDevice);
}

cudaError_t cudaFree(void* devPtr) {
  if (const cudaError_t e = xent::simt::check_unsafe_during_capture()) return e;
  return xent::simt::release(devPtr, xent::simt::Kind::kDevice);
}

cudaError_t cudaMallocHost(void** ptr, size_t size) {
  return xent::simt::allocate(ptr, size, xent::simt::Kind::kHost);
}

cudaError_t cudaFreeHost(void* ptr) { return xent::simt::release(ptr, xent::simt::Kind::kHost); }

cudaError_t cudaMemcpy(void* dst, const void* src, size_t count, enum cudaMemcpyKind kind) {
  if (const cudaError_t e = xent::simt::check_unsafe_during_capture()) return e;
  return xent::simt::copy(dst, src, count, kind, nullptr);
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t count, enum cudaMemcpyKind kind,
                            cudaStream_t stream) {
  return xent::simt::copy(dst, src, count, kind, stream);
}

cudaError_t cudaMemset(void* devPtr, int value, size_t count) {
  if (const cudaError_t e = xent::simt::check_unsafe_during_capture()) return e;
  return xent::simt::fill(devPtr, value, count, nullptr);
}

cudaError_t cudaMemsetAsync(void* devPtr, int value, size_t count, cudaStream_t stream) {
  return xent::simt::fill(devPtr, value, count, stream);
}

cudaError_t cudaMemcpyToSymbol(const void* symbol, const void* src, size_t count, size_t offset,
                               enum cudaMemcpyKind kind) {
  if (symbol == nullptr) return fail(cudaErrorInvalidValue);
  // A __constant__ or __device__ variable is an ordinary global under the emulator.
  void* dst = const_cast<char*>(static_cast<const char*>(symbol)) + offset;
  return cudaMemcpy(dst, src, count, kind);
}

cudaError_t cudaMemcpyFromSymbol(void* dst, const void* symbol, size_t count, size_t offset,
                                 enum cudaMemcpyKind kind) {
  if (symbol == nullptr) return fail(cudaErrorInvalidValue);
  return cudaMemcpy(dst, static_cast<const char*>(symbol) + offset, count, kind);
}

cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
  if (free == nullptr || total == nullptr) return fail(cudaErrorInvalidValue);
  xent::simt::Registry& r = xent::simt::registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  *total = xent::simt::physical_memory();
  *free = *total > r.allocated ? *total - r.allocated : 0;
  return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* pStream, unsigned int flags) {
  if (pStream == nullptr) return fail(cudaErrorInvalidValue);
  *pStream = new CUstream_st;
  (*pStream)->flags = flags;
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* pStream) {
  return cudaStreamCreateWithFlags(pStream, cudaStreamDefault);
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  if (stream == nullptr) return fail(cudaErrorInvalidResourceHandle);
  if (stream->capturing) return fail(cudaErrorIllegalState);
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  if (!predefined(stream) && stream->capturing) {
    stream->invalidated = true;
    return fail(cudaErrorStreamCaptureUnsupported);
  }
  return cudaSuccess;
}

cudaError_t cudaStreamQuery(cudaStream_t stream) {
  if (!predefined(stream) && stream->capturing) return fail(cudaErrorStreamCaptureUnsupported);
  return cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int) {
  // Work is complete when it is issued: there is never anything to wait for.
  if (event == nullptr) return fail(cudaErrorInvalidResourceHandle);
  (void)stream;
  return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, enum cudaStreamCaptureMode mode) {
  if (predefined(stream)) return fail(cudaErrorStreamCaptureUnsupported);
  if (stream->capturing) return fail(cudaErrorIllegalState);
  stream->capturing = true;
  stream->invalidated = false;
  stream->mode = mode;
  stream->graph = new CUgraph_st;
  xent::simt::Registry& r = xent::simt::registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.capturing.push_back(stream);
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* pGraph) {
  if (stream == nullptr || pGraph == nullptr) return fail(cudaErrorInvalidValue);
  if (!stream->capturing) return fail(cudaErrorIllegalState);
  {
    xent::simt::Registry& r = xent::simt::registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    std::erase(r.capturing, stream);
  }
  stream->capturing = false;
  CUgraph_st* graph = stream->graph;
  stream->graph = nullptr;
  if (stream->invalidated) {
    delete graph;
    *pGraph = nullptr;
    return fail(cudaErrorStreamCaptureInvalidated);
  }
  *pGraph = graph;
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, enum cudaStreamCaptureStatus* status) {
  if (status == nullptr) return fail(cudaErrorInvalidValue);
  if (predefined(stream) || !stream->capturing) {
    *status = cudaStreamCaptureStatusNone;
  } else {
    *status =
        stream->invalidated ? cudaStreamCaptureStatusInvalidated : cudaStreamCaptureStatusActive;
  }
  return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  if (event == nullptr) return fail(cudaErrorInvalidValue);
  *event = new CUevent_st;
  (*event)->flags = flags;
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) {
  return cudaEventCreateWithFlags(event, cudaEventDefault);
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  if (event == nullptr) return fail(cudaErrorInvalidResourceHandle);
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (event == nullptr) return fail(cudaErrorInvalidResourceHandle);
  return xent::simt::submit(stream, cudaGraphNodeTypeEventRecord, [event] {
    event->when = std::chrono::steady_clock::now();
    event->recorded = true;
  });
}

cudaError_t cudaEventQuery(cudaEvent_t event) {
  if (event == nullptr) return fail(cudaErrorInvalidResourceHandle);
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  if (event == nullptr) return fail(cudaErrorInvalidResourceHandle);
  return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (ms == nullptr) return fail(cudaErrorInvalidValue);
  if (start == nullptr || end == nullptr) return fail(cudaErrorInvalidResourceHandle);
  if ((start->flags | end->flags) & cudaEventDisableTiming) {
    return fail(cudaErrorInvalidResourceHandle);
  }
  if (!start->recorded || !end->recorded) return fail(cudaErrorInvalidResourceHandle);
  *ms = std::chrono::duration<float, std::milli>(end->when - start->when).count();
  return cudaSuccess;
}

cudaError_t cudaLaunchHostFunc(cudaStream_t stream, cudaHostFn_t fn, void* userData) {
  if (fn == nullptr) return fail(cudaErrorInvalidValue);
  // A host node: runs in stream order now, or at every replay of the captured graph.
  return xent::simt::submit(stream, cudaGraphNodeTypeHost, [fn, userData] { fn(userData); });
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  if (exec == nullptr || graph == nullptr) return fail(cudaErrorInvalidValue);
  *exec = new CUgraphExec_st{graph->nodes};
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  if (exec == nullptr) return fail(cudaErrorInvalidResourceHandle);
  return xent::simt::submit(stream, cudaGraphNodeTypeGraph, [exec] {
    for (const std::function<void()>& node : exec->nodes) node();
  });
}

cudaError_t cudaGraphGetNodes(cudaGraph_t graph, cudaGraphNode_t* nodes, size_t* numNodes) {
  if (graph == nullptr || numNodes == nullptr) return fail(cudaErrorInvalidValue);
  // CUDA's contract: with nodes, fill min(*numNodes, count) handles; either way report count.
  if (nodes != nullptr)
    for (size_t i = 0; i < *numNodes && i < graph->kinds.size(); ++i) nodes[i] = &graph->kinds[i];
  *numNodes = graph->kinds.size();
  return cudaSuccess;
}

cudaError_t cudaGraphNodeGetType(cudaGraphNode_t node, cudaGraphNodeType* pType) {
  if (node == nullptr || pType == nullptr) return fail(cudaErrorInvalidValue);
  *pType = node->type;
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  delete exec;
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  delete graph;
  return cudaSuccess;
}

cudaError_t cudaGetLastError(void) {
  const cudaError_t e = xent::simt::tls_last_error;
  xent::simt::tls_last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError(void) { return xent::simt::tls_last_error; }

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess:
      return "cudaSuccess";
    case cudaErrorInvalidValue:
      return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation:
      return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration:
      return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidMemcpyDirection:
      return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInvalidDevice:
      return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle:
      return "cudaErrorInvalidResourceHandle";
    case cudaErrorIllegalState:
      return "cudaErrorIllegalState";
    case cudaErrorStreamCaptureUnsupported:
      return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated:
      return "cudaErrorStreamCaptureInvalidated";
    case cudaErrorStreamCaptureImplicit:
      return "cudaErrorStreamCaptureImplicit";
    default:
      return "cudaErrorUnknown";
  }
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess:
      return "no error";
    case cudaErrorInvalidValue:
      return "invalid argument";
    case cudaErrorMemoryAllocation:
      return "out of memory";
    case cudaErrorInvalidConfiguration:
      return "invalid configuration argument";
    case cudaErrorInvalidMemcpyDirection:
      return "invalid copy direction for memcpy";
    case cudaErrorInvalidDevice:
      return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle:
      return "invalid resource handle";
    case cudaErrorIllegalState:
      return "the operation cannot be performed in the present state";
    case cudaErrorStreamCaptureUnsupported:
      return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated:
      return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureImplicit:
      return "operation would make the legacy stream depend on a capturing blocking stream";
    default:
      return "unknown error (not produced by the xent SIMT emulator)";
  }
}

cudaError_t cudaDeviceSynchronize(void) {
  if (const cudaError_t e = xent::simt::check_unsafe_during_capture()) return e;
  return cudaSuccess;
}

cudaError_t cudaDeviceReset(void) { return cudaSuccess; }

cudaError_t cudaGetDeviceCount(int* count) {
  if (count == nullptr) return fail(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice);
}

cudaError_t cudaGetDevice(int* device) {
  if (device == nullptr) return fail(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp* prop, int device) {
  if (prop == nullptr) return fail(cudaErrorInvalidValue);
  if (device != 0) return fail(cudaErrorInvalidDevice);
  std::memset(prop, 0, sizeof *prop);
  std::strncpy(prop->name, "xent SIMT emulator", sizeof prop->name - 1);
  prop->totalGlobalMem = xent::simt::physical_memory();
  prop->sharedMemPerBlock = xent::simt::kDefaultSharedLimit;
  prop->sharedMemPerBlockOptin = xent::simt::kOptinSharedLimit;
  prop->regsPerBlock = 65536;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = 1024;
  prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 0x7fffffff;
  prop->maxGridSize[1] = 65535;
  prop->maxGridSize[2] = 65535;
  prop->totalConstMem = 65536;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = xent::simt::kMultiprocessors;
  prop->maxThreadsPerMultiProcessor = 2048;
  prop->unifiedAddressing = 1;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int* value, enum cudaDeviceAttr attr, int device) {
  if (value == nullptr) return fail(cudaErrorInvalidValue);
  if (device != 0) return fail(cudaErrorInvalidDevice);
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock:
      *value = 1024;
      return cudaSuccess;
    case cudaDevAttrWarpSize:
      *value = 32;
      return cudaSuccess;
    case cudaDevAttrMultiProcessorCount:
      *value = xent::simt::kMultiprocessors;
      return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlock:
      *value = xent::simt::kDefaultSharedLimit;
      return cudaSuccess;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin:
      *value = xent::simt::kOptinSharedLimit;
      return cudaSuccess;
    case cudaDevAttrComputeCapabilityMajor:
      *value = 9;
      return cudaSuccess;
    case cudaDevAttrComputeCapabilityMinor:
      *value = 0;
      return cudaSuccess;
    default:
      return fail(cudaErrorInvalidValue);
  }
}

cudaError_t cudaFuncSetAttribute(const void* func, enum cudaFuncAttribute attr, int value) {
  if (func == nullptr) return fail(cudaErrorInvalidDeviceFunction);
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize) return cudaSuccess;  // hints only
  if (value < 0 || value > xent::simt::kOptinSharedLimit) return fail(cudaErrorInvalidValue);
  xent::simt::Registry& r = xent::simt::registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.shared_limits[func] = value;
  return cudaSuccess;
}

}  // extern "C"
