// Data-parallel training across processes with PyTorch's own c10d
// (ProcessGroupGloo over a TCPStore, or a FileStore on a shared path).
//
// One process per rank. The rendezvous comes from the environment:
// - torchrun's RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, when RANK and
//   WORLD_SIZE are set;
// - else Slurm's SLURM_PROCID, SLURM_NTASKS and the first host of
//   SLURM_JOB_NODELIST (`srun -n N tinynas train ...`), port MASTER_PORT or
//   20000 + SLURM_JOB_ID % 20000;
// - TINYNAS_DIST_STORE=PATH uses a FileStore at PATH instead of TCP (a shared
//   file system; the file must not exist from an earlier run).
// A world of one (no such variables, or WORLD_SIZE/SLURM_NTASKS = 1) is not
// distributed: from_environment() returns nullptr and training runs exactly
// as it does without this file.
//
// Every collective has a timeout (TINYNAS_DIST_TIMEOUT seconds, default 120):
// a rank that died makes the others fail with an error naming the
// rendezvous within that time instead of hanging.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace at {
class Tensor;
}

namespace tinynas::supernet {

class ProcessGroup {
 public:
  // nullptr when the environment names no world larger than one. Throws
  // tinynas::Error for inconsistent variables and for a rendezvous that does
  // not complete within the timeout (naming the address).
  static std::unique_ptr<ProcessGroup> from_environment();
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int32_t rank() const;
  int32_t world_size() const;
  const std::string& address() const;  // "host:port" or "file:PATH", for messages

  // In place, summed over the ranks. The tensors must have the same shapes
  // on every rank.
  void allreduce_sum(at::Tensor& tensor);
  // Sums the gradients of `params` over the ranks, in buckets of about
  // `bucket_bytes` (flattened into one buffer per bucket: one collective per
  // bucket, not per parameter). Parameters without a gradient are skipped;
  // every rank must have the same ones (the same subnet active).
  void allreduce_gradients(const std::vector<at::Tensor>& params, int64_t bucket_bytes = 32 << 20);
  // Throws tinynas::Error naming `what` unless every rank passes the same
  // value (a digest of its configuration, its checkpoint, ...).
  void check_same(const std::string& what, uint64_t value);
  void barrier();
  // Time spent in all-reduces so far (waiting for the slowest rank
  // included) and their number: the cost of the collectives.
  double collective_seconds() const;
  int64_t collectives() const;

 private:
  struct Impl;
  explicit ProcessGroup(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Sum over the ranks that autograd differentiates: the gradient of every
// rank's input is the sum of the gradients of all ranks' outputs (the
// synchronised batch norm's statistics).
at::Tensor allreduce_sum_differentiable(const at::Tensor& x, ProcessGroup& group);

// The first host of a Slurm node list: "node[03-05,9]" -> "node03",
// "a1,b2" -> "a1", "gpu-[1-2]x" -> "gpu-1x". Throws tinynas::Error for an
// empty or malformed list.
std::string first_slurm_host(const std::string& nodelist);

// This process's rank as from_environment() would read it, without a
// rendezvous: 0 where the environment names no world larger than one.
// Throws tinynas::Error for inconsistent variables.
int32_t rank_from_environment();

}  // namespace tinynas::supernet
