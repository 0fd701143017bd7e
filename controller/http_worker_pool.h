#pragma once
// The threads that serve HTTP requests. `slots` requests run at once; a job that turns
// into a long-lived stream (a /watch) calls detach_current() and stops counting
// against the slots, so the pool starts another thread for the requests queued behind
// it. Detached threads are bounded too (max_detached): the total never exceeds
// slots + max_detached (+ idle threads, which exit after a while).
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

namespace vrf {

class WorkerPool {
 public:
  WorkerPool(size_t slots, size_t max_detached, std::chrono::milliseconds idle_exit = std::chrono::seconds(30));
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False once shutting down (the job is dropped).
  bool submit(std::function<void()> job);
  // From inside a job of any pool: give the slot back for the rest of the job. False
  // when not on a pool thread or when max_detached jobs are detached already.
  static bool detach_current();
  // Drops queued jobs, waits for the running ones.
  void shutdown();

  struct Stats {
    size_t threads, running, detached, queued;
  };
  Stats stats();

 private:
  void run();
  void spawn_locked();
  void wake_for_queue_locked();

  const size_t slots_, max_detached_;
  const std::chrono::milliseconds idle_exit_;
  std::mutex mu_;
  std::condition_variable work_cv_, exit_cv_;
  std::deque<std::function<void()>> queue_;
  size_t threads_ = 0, idle_ = 0, running_ = 0, detached_ = 0;
  bool stopping_ = false;
};

}  // namespace vrf
