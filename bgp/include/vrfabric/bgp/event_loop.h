// A single-threaded event loop: epoll for sockets, one timerfd for all timers,
// an eventfd so other threads can post work. Every callback runs on the loop
// thread, so the state they touch needs no locks.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace vrfabric::bgp {

class EventLoop {
 public:
  using Callback = std::function<void()>;
  using IoCallback = std::function<void(uint32_t events)>;  // EPOLLIN/EPOLLOUT/EPOLLERR...
  using TimerId = uint64_t;

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Loop thread only.
  void addFd(int fd, uint32_t events, IoCallback cb);
  void modifyFd(int fd, uint32_t events);
  void removeFd(int fd);
  TimerId addTimer(std::chrono::milliseconds delay, Callback cb);
  void cancelTimer(TimerId id);

  // Any thread. Callbacks run in posting order on the loop thread.
  void post(Callback cb);
  void stop();

  // Runs until stop(); the calling thread becomes the loop thread.
  void run();
  bool inLoopThread() const { return std::this_thread::get_id() == loopThread_; }

 private:
  void armTimerFd();
  void runTimers();
  void runPosted();

  int epfd_ = -1, timerfd_ = -1, eventfd_ = -1;
  bool stopping_ = false;
  std::thread::id loopThread_;
  // fd -> (generation, callback). The generation travels in epoll data so an event
  // for a closed-and-reused fd number is not delivered to the new owner.
  struct FdEntry {
    uint32_t generation;
    std::shared_ptr<IoCallback> cb;
  };
  std::unordered_map<int, FdEntry> fds_;
  uint32_t nextGeneration_ = 1;
  using Clock = std::chrono::steady_clock;
  std::map<std::pair<Clock::time_point, TimerId>, Callback> timers_;
  std::unordered_map<TimerId, Clock::time_point> timerDeadlines_;
  TimerId nextTimer_ = 1;
  std::mutex postMutex_;
  std::vector<Callback> posted_;
};

// A restartable one-shot timer owned by an object living on the loop thread.
class Timer {
 public:
  explicit Timer(EventLoop& loop) : loop_(loop) {}
  ~Timer() { stop(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;
  void start(std::chrono::milliseconds delay, EventLoop::Callback cb);
  void stop();
  bool running() const { return id_ != 0; }

 private:
  EventLoop& loop_;
  EventLoop::TimerId id_ = 0;
};

}  // namespace vrfabric::bgp
