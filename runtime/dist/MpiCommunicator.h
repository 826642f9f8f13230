//===- MpiCommunicator.h - the communicator on MPI --------------*- C++ -*-===//
//
// For `mpirun -np N heed train ...` (OpenMPI). No MPI header here, so that only
// MpiCommunicator.cpp (library heed_dist_mpi) needs it.
//
// A sum (startSum .. waitSums; allreduceSumInRankOrder is one) is a
// reduce-scatter and an allgather, as a ring allreduce is, but with a fixed
// order: the buffer is cut into size() chunks, MPI_Ialltoallv gives rank c
// every rank's copy of chunk c (one call per term), rank c adds them in rank
// order, and MPI_Iallgatherv returns the sums to every rank. Each rank sends
// and receives 2 (N-1)/N of the buffer, the ring's volume (with M terms per
// rank, (M+1) (N-1)/N). Both are nonblocking: progressSums() tests them.
// (MPI_Allreduce's order of summation is the implementation's; it need not be
// rank order for N > 2.)
//
// Errors are fatal (MPI_ERRORS_ARE_FATAL, MPI's default): when a rank dies,
// mpirun ends the others.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/dist/Communicator.h"

#include <memory>

namespace heed::rt {

/// True when this process was started by mpirun (OpenMPI's OMPI_COMM_WORLD_SIZE,
/// or a PMI/PMIx launcher's size variable, is set).
bool launchedByMpirun();

/// Initialises MPI (MPI_Init_thread, funneled) on first use and finalises it at
/// exit; one per process.
std::unique_ptr<Communicator> makeMpiCommunicator();

}  // namespace heed::rt
