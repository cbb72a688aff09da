// The CUDA runtime calls the emulator implements, renamed before cuda_runtime_api.h declares
// them. The emulator's definitions then carry xent_simt_ names, so a binary may link the
// emulator and the real libcudart together without one silently replacing the other, and a
// call the emulator does not implement stays an unresolved symbol instead of a wrong one.
// Included first by simt.h; a TU that has already seen a CUDA header cannot use the emulator.
#pragma once

#if defined(__CUDA_RUNTIME_API_H__)
#error "kernels/compat.cuh (or tests/simt/simt.h) must come before any CUDA header"
#endif

#define XENT_SIMT_RENAMED_RUNTIME 1
#define cudaMalloc xent_simt_cudaMalloc
#define cudaFree xent_simt_cudaFree
#define cudaMallocHost xent_simt_cudaMallocHost
#define cudaFreeHost xent_simt_cudaFreeHost
#define cudaMemcpy xent_simt_cudaMemcpy
#define cudaMemcpyAsync xent_simt_cudaMemcpyAsync
#define cudaMemset xent_simt_cudaMemset
#define cudaMemsetAsync xent_simt_cudaMemsetAsync
#define cudaMemcpyToSymbol xent_simt_cudaMemcpyToSymbol
#define cudaMemcpyFromSymbol xent_simt_cudaMemcpyFromSymbol
#define cudaMemGetInfo xent_simt_cudaMemGetInfo
#define cudaStreamCreate xent_simt_cudaStreamCreate
#define cudaStreamCreateWithFlags xent_simt_cudaStreamCreateWithFlags
#define cudaStreamDestroy xent_simt_cudaStreamDestroy
#define cudaStreamSynchronize xent_simt_cudaStreamSynchronize
#define cudaStreamQuery xent_simt_cudaStreamQuery
#define cudaStreamWaitEvent xent_simt_cudaStreamWaitEvent
#define cudaStreamBeginCapture xent_simt_cudaStreamBeginCapture
#define cudaStreamEndCapture xent_simt_cudaStreamEndCapture
#define cudaStreamIsCapturing xent_simt_cudaStreamIsCapturing
#define cudaEventCreate xent_simt_cudaEventCreate
#define cudaEventCreateWithFlags xent_simt_cudaEventCreateWithFlags
#define cudaEventDestroy xent_simt_cudaEventDestroy
#define cudaEventRecord xent_simt_cudaEventRecord
#define cudaEventQuery xent_simt_cudaEventQuery
#define cudaEventSynchronize xent_simt_cudaEventSynchronize
#define cudaEventElapsedTime xent_simt_cudaEventElapsedTime
#define cudaLaunchHostFunc xent_simt_cudaLaunchHostFunc
#define cudaGraphInstantiate xent_simt_cudaGraphInstantiate
#define cudaGraphLaunch xent_simt_cudaGraphLaunch
#define cudaGraphExecDestroy xent_simt_cudaGraphExecDestroy
#define cudaGraphGetNodes xent_simt_cudaGraphGetNodes
#define cudaGraphNodeGetType xent_simt_cudaGraphNodeGetType
#define cudaGraphDestroy xent_simt_cudaGraphDestroy
#define cudaGetLastError xent_simt_cudaGetLastError
#define cudaPeekAtLastError xent_simt_cudaPeekAtLastError
#define cudaGetErrorString xent_simt_cudaGetErrorString
#define cudaGetErrorName xent_simt_cudaGetErrorName
#define cudaDeviceSynchronize xent_simt_cudaDeviceSynchronize
#define cudaDeviceReset xent_simt_cudaDeviceReset
#define cudaGetDeviceCount xent_simt_cudaGetDeviceCount
#define cudaSetDevice xent_simt_cudaSetDevice
#define cudaGetDevice xent_simt_cudaGetDevice
#define cudaGetDeviceProperties xent_simt_cudaGetDeviceProperties
#define cudaDeviceGetAttribute xent_simt_cudaDeviceGetAttribute
#define cudaFuncSetAttribute xent_simt_cudaFuncSetAttribute
