// `xent sweep`'s ranks: the MPI world under a launcher, or one rank without MPI (a build without
// it, or a plain `xent sweep`). Only the binary links MPI, so the class lives with it.
#pragma once
#include <cstdio>
#include <cstdlib>

#include "experiments/synthetic/sweep_job.h"
#if defined(XENT_HAVE_MPI)
#include <mpi.h>
#endif

namespace xent::cli {

// The MPI world, or one rank without MPI. Finalized on scope exit; a rank that fails while the
// others may be waiting at the barrier aborts them all instead (see abort_all).
class MpiRanks final : public Ranks {
 public:
  MpiRanks() {
#if defined(XENT_HAVE_MPI)
    // Only under a launcher (MPICH's sets PMI_RANK): a plain `xent sweep` is one rank and skips
    // MPI's start-up (a singleton init probes the network).
    if (!std::getenv("PMI_RANK") && !std::getenv("PMI_SIZE")) return;
    MPI_Init(nullptr, nullptr);
    mpi_ = true;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
#endif
  }
  ~MpiRanks() override {
#if defined(XENT_HAVE_MPI)
    if (mpi_) MPI_Finalize();
#endif
  }
  MpiRanks(const MpiRanks&) = delete;
  MpiRanks& operator=(const MpiRanks&) = delete;
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  // Every rank's value summed, on rank 0; also a barrier: every rank has written its runs.
  int sum(int value) const override {
#if defined(XENT_HAVE_MPI)
    if (!mpi_) return value;
    int total = 0;
    MPI_Reduce(&value, &total, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Barrier(MPI_COMM_WORLD);
    return total;
#else
    return value;
#endif
  }
  [[noreturn]] void abort_all(const char* what) const override {
    std::fprintf(stderr, "xent: error (rank %d): %s\n", rank_, what);
#if defined(XENT_HAVE_MPI)
    if (mpi_) MPI_Abort(MPI_COMM_WORLD, 1);
#endif
    std::exit(1);
  }

 private:
  int rank_ = 0, size_ = 1;
  bool mpi_ = false;
};

}  // namespace xent::cli
