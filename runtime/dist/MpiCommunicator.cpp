//===- MpiCommunicator.cpp - the communicator on MPI -----------------------===//

#include "runtime/dist/MpiCommunicator.h"

#include "runtime/Error.h"

#include <mpi.h>

#include <algorithm>
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
    check(MPI_Comm_dup(MPI_COMM_WORLD, &scatterComm), "MPI_Comm_dup");
    check(MPI_Comm_dup(MPI_COMM_WORLD, &gatherComm), "MPI_Comm_dup");
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  ~MpiCommunicator() override {
    int fin = 0;
    MPI_Finalized(&fin);
    if (fin) return;
    MPI_Comm_free(&scatterComm);
    MPI_Comm_free(&gatherComm);
  }

  // A sum (Communicator.h) is a reduce-scatter and an allgather, as a ring
  // allreduce is, with a fixed order: the buffer is cut into size_ chunks; each
  // term goes out by MPI_Ialltoallv as soon as it is handed over (rank c
  // receives every rank's copy of chunk c); once rank c has all terms of all
  // ranks it adds them in order and MPI_Iallgatherv returns the sums. The
  // alltoalls and the allgathers run on communicators of their own, so that
  // each sees its calls in the same order on every rank however the sums
  // interleave; the allgathers are issued in the order the sums were started.
  int startSum(float *result, int64_t n, int terms) override {
    Sum s;
    s.result = result;
    s.n = n;
    s.terms = terms;
    s.counts.resize((size_t)size_);
    s.displs.resize((size_t)size_);
    for (int c = 0; c < size_; ++c) {
      int64_t lo = n * c / size_, hi = n * (c + 1) / size_;
      if (hi - lo > INT32_MAX) throw Error("MPI: gradient buffer too large for one allreduce");
      s.counts[(size_t)c] = (int)(hi - lo);
      s.displs[(size_t)c] = (int)lo;
    }
    s.mine = s.counts[(size_t)rank_];
    // A nonblocking collective may read its count arrays until it completes: they live in the Sum.
    s.rcounts.assign((size_t)size_, s.mine);
    s.rdispls.resize((size_t)size_);
    for (int r = 0; r < size_; ++r) s.rdispls[(size_t)r] = r * s.mine;
    s.send.resize((size_t)terms);
    s.recv.resize((size_t)terms * (size_t)size_ * (size_t)s.mine);
    s.scatter.assign((size_t)terms, MPI_REQUEST_NULL);
    sums.push_back(std::move(s));
    return (int)sums.size() - 1;
  }
  float *termBuffer(int id, int term) override {
    Sum &s = sums.at((size_t)id);
    s.send.at((size_t)term).resize((size_t)s.n);
    return s.send[(size_t)term].data();
  }
  void addTerm(int id, int term) override {
    Sum &s = sums.at((size_t)id);
    if (term != s.added) throw Error("MPI: the terms of a sum must be added in order");
    float *recv = s.recv.data() + (size_t)term * (size_t)size_ * (size_t)s.mine;
    check(MPI_Ialltoallv(s.send[(size_t)term].data(), s.counts.data(), s.displs.data(), MPI_FLOAT, recv,
                         s.rcounts.data(), s.rdispls.data(), MPI_FLOAT, scatterComm, &s.scatter[(size_t)term]),
          "MPI_Ialltoallv");
    ++s.added;
  }
  int progressSums() override {
    // Start the allgathers, in order, of the sums whose chunks have all arrived.
    while (nextGather < sums.size()) {
      Sum &s = sums[nextGather];
      if (s.added < s.terms) break;
      int flag = 0;
      check(MPI_Testall(s.terms, s.scatter.data(), &flag, MPI_STATUSES_IGNORE), "MPI_Testall");
      if (!flag) break;
      startGather(s);
      ++nextGather;
    }
    int done = 0;
    for (size_t i = 0; i < nextGather; ++i) {
      Sum &s = sums[i];
      if (!s.done) {
        int flag = 0;
        check(MPI_Test(&s.gather, &flag, MPI_STATUS_IGNORE), "MPI_Test");
        s.done = flag != 0;
      }
      done += s.done;
    }
    return done;
  }
  void waitSums() override {
    for (; nextGather < sums.size(); ++nextGather) {
      Sum &s = sums[nextGather];
      if (s.added < s.terms) throw Error("MPI: waiting for a sum whose terms were not all added");
      check(MPI_Waitall(s.terms, s.scatter.data(), MPI_STATUSES_IGNORE), "MPI_Waitall");
      startGather(s);
    }
    for (Sum &s : sums)
      if (!s.done) check(MPI_Wait(&s.gather, MPI_STATUS_IGNORE), "MPI_Wait");
    sums.clear();
    nextGather = 0;
  }
  void allgather(const void *mine, size_t bytes, void *all) override {
    check(MPI_Allgather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, MPI_COMM_WORLD), "MPI_Allgather");
  }
  void broadcast(void *data, size_t bytes, int root) override {
    check(MPI_Bcast(data, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
  }
  void barrier() override { check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }

private:
  struct Sum {
    float *result = nullptr;
    int64_t n = 0;
    int terms = 0, added = 0, mine = 0;
    std::vector<int> counts, displs, rcounts, rdispls;
    std::vector<std::vector<float>> send;  // per term
    std::vector<float> recv;               // [term][rank][mine]
    std::vector<float> sum;                // this rank's chunk of the result
    std::vector<MPI_Request> scatter;      // per term
    MPI_Request gather = MPI_REQUEST_NULL;
    bool done = false;
  };

  /// This rank's chunk of the result: its copies of every rank's every term
  /// added in order, ((t_00 + t_01) + ... + t_10) + ...; then the allgather.
  void startGather(Sum &s) {
    const size_t m = (size_t)s.mine;
    s.sum.assign(m, 0.0f);
    bool first = true;
    for (int r = 0; r < size_; ++r)
      for (int j = 0; j < s.terms; ++j) {
        const float *x = s.recv.data() + ((size_t)j * (size_t)size_ + (size_t)r) * m;
        if (first) std::copy(x, x + m, s.sum.begin());
        else
          for (size_t i = 0; i < m; ++i) s.sum[i] += x[i];
        first = false;
      }
    check(MPI_Iallgatherv(s.sum.data(), s.mine, MPI_FLOAT, s.result, s.counts.data(), s.displs.data(), MPI_FLOAT,
                          gatherComm, &s.gather),
          "MPI_Iallgatherv");
  }

  int rank_ = 0, size_ = 1;
  MPI_Comm scatterComm = MPI_COMM_NULL, gatherComm = MPI_COMM_NULL;
  std::vector<Sum> sums;  // started, not yet waited for
  size_t nextGather = 0;  // sums before it have their allgather issued
};

}  // namespace

bool launchedByMpirun() {
  for (const char *v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"})
    if (std::getenv(v)) return true;
  return false;
}

std::unique_ptr<Communicator> makeMpiCommunicator() { return std::make_unique<MpiCommunicator>(); }

}  // namespace heed::rt
