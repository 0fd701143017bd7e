#include "vrfabric/bgp/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace vrfabric::bgp {

namespace {
constexpr int kTimerSlot = -1;
constexpr int kEventSlot = -2;

uint64_t packData(uint32_t gen, int fd) { return uint64_t(gen) << 32 | uint32_t(fd); }

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}
}  // namespace

EventLoop::EventLoop() {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  check(epfd_ >= 0, "epoll_create1");
  timerfd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  check(timerfd_ >= 0, "timerfd_create");
  eventfd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  check(eventfd_ >= 0, "eventfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = packData(0, kTimerSlot);
  check(epoll_ctl(epfd_, EPOLL_CTL_ADD, timerfd_, &ev) == 0, "epoll_ctl timerfd");
  ev.data.u64 = packData(0, kEventSlot);
  check(epoll_ctl(epfd_, EPOLL_CTL_ADD, eventfd_, &ev) == 0, "epoll_ctl eventfd");
  loopThread_ = std::this_thread::get_id();
}

EventLoop::~EventLoop() {
  close(epfd_);
  close(timerfd_);
  close(eventfd_);
}

void EventLoop::addFd(int fd, uint32_t events, IoCallback cb) {
  uint32_t gen = nextGeneration_++;
  fds_[fd] = FdEntry{gen, std::make_shared<IoCallback>(std::move(cb))};
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = packData(gen, fd);
  check(epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0, "epoll_ctl add");
}

void EventLoop::modifyFd(int fd, uint32_t events) {
  auto it = fds_.find(fd);
  if (it == fds_.end()) return;
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = packData(it->second.generation, fd);
  epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
}

void EventLoop::removeFd(int fd) {
  if (fds_.erase(fd)) epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
}

EventLoop::TimerId EventLoop::addTimer(std::chrono::milliseconds delay, Callback cb) {
  TimerId id = nextTimer_++;
  auto when = Clock::now() + delay;
  timers_.emplace(std::make_pair(when, id), std::move(cb));
  timerDeadlines_[id] = when;
  if (timers_.begin()->first.second == id) armTimerFd();
  return id;
}

void EventLoop::cancelTimer(TimerId id) {
  auto it = timerDeadlines_.find(id);
  if (it == timerDeadlines_.end()) return;
  timers_.erase({it->second, id});
  timerDeadlines_.erase(it);
}

void EventLoop::armTimerFd() {
  itimerspec spec{};
  if (!timers_.empty()) {
    auto delta = timers_.begin()->first.first - Clock::now();
    auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(delta).count();
    if (ns < 1000) ns = 1000;  // zero would disarm the timer
    spec.it_value.tv_sec = ns / 1000000000;
    spec.it_value.tv_nsec = ns % 1000000000;
  }
  timerfd_settime(timerfd_, 0, &spec, nullptr);
}

void EventLoop::runTimers() {
  uint64_t expirations;
  (void)!read(timerfd_, &expirations, sizeof expirations);
  auto now = Clock::now();
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto node = timers_.extract(timers_.begin());
    timerDeadlines_.erase(node.key().second);
    node.mapped()();
  }
  armTimerFd();
}

void EventLoop::post(Callback cb) {
  {
    std::lock_guard<std::mutex> lock(postMutex_);
    posted_.push_back(std::move(cb));
  }
  uint64_t one = 1;
  (void)!write(eventfd_, &one, sizeof one);
}

void EventLoop::runPosted() {
  uint64_t n;
  (void)!read(eventfd_, &n, sizeof n);
  std::vector<Callback> batch;
  {
    std::lock_guard<std::mutex> lock(postMutex_);
    batch.swap(posted_);
  }
  for (auto& cb : batch) cb();
}

void EventLoop::stop() {
  post([this] { stopping_ = true; });
}

void EventLoop::run() {
  loopThread_ = std::this_thread::get_id();
  epoll_event events[64];
  while (!stopping_) {
    int n = epoll_wait(epfd_, events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("epoll_wait: ") + std::strerror(errno));
    }
    for (int i = 0; i < n; ++i) {
      int fd = int(uint32_t(events[i].data.u64));
      uint32_t gen = uint32_t(events[i].data.u64 >> 32);
      if (fd == kTimerSlot) {
        runTimers();
      } else if (fd == kEventSlot) {
        runPosted();
      } else {
        auto it = fds_.find(fd);
        if (it == fds_.end() || it->second.generation != gen) continue;
        auto cb = it->second.cb;  // keep alive even if the callback removes the fd
        (*cb)(events[i].events);
      }
    }
  }
}

void Timer::start(std::chrono::milliseconds delay, EventLoop::Callback cb) {
  stop();
  id_ = loop_.addTimer(delay, [this, cb = std::move(cb)] {
    id_ = 0;
    cb();
  });
}

void Timer::stop() {
  if (id_) loop_.cancelTimer(id_);
  id_ = 0;
}

}  // namespace vrfabric::bgp
