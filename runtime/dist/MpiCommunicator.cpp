//===- MpiCommunicator.cpp - the communicator on MPI -----------------------===//

#include "runtime/dist/MpiCommunicator.h"

#include "runtime/Error.h"

#include <mpi.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace heed::rt {

namespace {

void check(int rc, const char *what) {
  if (rc != MPI_SUCCESS) throw Error(std::string("MPI: ") + what + " failed");
}

class MpiCommunicator : public Communicator {
public:
  MpiCommunicator() {
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
      int provided = 0;
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      std::atexit([] {
        int fin = 0;
        MPI_Finalized(&fin);
        if (!fin) MPI_Finalize();
      });
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void allreduceSumInRankOrder(float *data, int64_t n) override {
    if (size_ == 1 || n == 0) return;
    // Chunk c (of size_) is summed by rank c.
    std::vector<int> counts((size_t)size_), displs((size_t)size_);
    for (int c = 0; c < size_; ++c) {
      int64_t lo = n * c / size_, hi = n * (c + 1) / size_;
      if (hi - lo > INT32_MAX) throw Error("MPI: gradient buffer too large for one allreduce");
      counts[(size_t)c] = (int)(hi - lo);
      displs[(size_t)c] = (int)lo;
    }
    const int mine = counts[(size_t)rank_];
    std::vector<float> gathered((size_t)mine * (size_t)size_);
    std::vector<int> rcounts((size_t)size_, mine), rdispls((size_t)size_);
    for (int r = 0; r < size_; ++r) rdispls[(size_t)r] = r * mine;
    check(MPI_Alltoallv(data, counts.data(), displs.data(), MPI_FLOAT, gathered.data(), rcounts.data(),
                        rdispls.data(), MPI_FLOAT, MPI_COMM_WORLD),
          "MPI_Alltoallv");
    // Rank order, one rank at a time: ((x_0 + x_1) + x_2) + ...
    std::vector<float> sum(gathered.begin(), gathered.begin() + mine);
    for (int r = 1; r < size_; ++r) {
      const float *x = gathered.data() + (size_t)r * (size_t)mine;
      for (int i = 0; i < mine; ++i) sum[(size_t)i] += x[i];
    }
    check(MPI_Allgatherv(sum.data(), mine, MPI_FLOAT, data, counts.data(), displs.data(), MPI_FLOAT,
                         MPI_COMM_WORLD),
          "MPI_Allgatherv");
  }
  void allgather(const void *mine, size_t bytes, void *all) override {
    check(MPI_Allgather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, MPI_COMM_WORLD), "MPI_Allgather");
  }
  void broadcast(void *data, size_t bytes, int root) override {
    check(MPI_Bcast(data, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
  }
  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

private:
  int rank_ = 0, size_ = 1;
};

}  // namespace

bool launchedByMpirun() {
  for (const char *v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

std::unique_ptr<Communicator> makeMpiCommunicator() { return std::make_unique<MpiCommunicator>(); }

}  // namespace heed::rt
