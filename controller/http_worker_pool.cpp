#include "controller/http_worker_pool.h"

#include <spdlog/spdlog.h>

#include <thread>

namespace vrf {

namespace {
thread_local WorkerPool* tl_pool = nullptr;
thread_local bool tl_detached = false;
}  // namespace

WorkerPool::WorkerPool(size_t slots, size_t max_detached, std::chrono::milliseconds idle_exit)
    : slots_(std::max<size_t>(1, slots)), max_detached_(max_detached), idle_exit_(idle_exit) {}

WorkerPool::~WorkerPool() { shutdown(); }

void WorkerPool::spawn_locked() {
  ++threads_;
  ++idle_;  // counted idle from the start, so that submit() does not spawn twice for one job
  std::thread([this] { run(); }).detach();
}

// Jobs that may start now: as many as free slots. Idle threads (woken ones included:
// they count as idle until they hold the lock) take them; spawn the missing ones.
void WorkerPool::wake_for_queue_locked() {
  size_t free_slots = running_ < slots_ ? slots_ - running_ : 0;
  size_t startable = std::min(queue_.size(), free_slots);
  for (size_t i = 0; i < startable; ++i) work_cv_.notify_one();
  while (idle_ < startable) spawn_locked();
}

bool WorkerPool::submit(std::function<void()> job) {
  std::lock_guard lk(mu_);
  if (stopping_) return false;
  queue_.push_back(std::move(job));
  wake_for_queue_locked();
  return true;
}

bool WorkerPool::detach_current() {
  WorkerPool* p = tl_pool;
  if (!p) return false;
  if (tl_detached) return true;
  std::lock_guard lk(p->mu_);
  if (p->detached_ >= p->max_detached_) return false;
  --p->running_;
  ++p->detached_;
  tl_detached = true;
  p->wake_for_queue_locked();
  return true;
}

void WorkerPool::run() {
  tl_pool = this;
  std::unique_lock lk(mu_);
  for (;;) {
    bool work = work_cv_.wait_for(lk, idle_exit_, [&] { return stopping_ || (!queue_.empty() && running_ < slots_); });
    if (stopping_ || (!work && threads_ > slots_)) break;  // surplus threads leave when idle
    if (!work) continue;
    auto job = std::move(queue_.front());
    queue_.pop_front();
    --idle_;
    ++running_;
    lk.unlock();
    tl_detached = false;
    try {
      job();
    } catch (const std::exception& e) {
      spdlog::error("http worker: {}", e.what());
    }
    job = nullptr;  // whatever the job holds (its connection) is released outside the lock
    lk.lock();
    if (tl_detached) --detached_;
    else --running_;
    ++idle_;
    wake_for_queue_locked();
  }
  --idle_;
  --threads_;
  exit_cv_.notify_all();
}

void WorkerPool::shutdown() {
  std::deque<std::function<void()>> dropped;
  std::unique_lock lk(mu_);
  stopping_ = true;
  dropped.swap(queue_);
  work_cv_.notify_all();
  exit_cv_.wait(lk, [&] { return threads_ == 0; });
}

WorkerPool::Stats WorkerPool::stats() {
  std::lock_guard lk(mu_);
  return {threads_, running_, detached_, queue_.size()};
}

}  // namespace vrf
