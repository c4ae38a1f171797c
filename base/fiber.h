#pragma once
// Fibers: user-space threads for the HTTP server. A Pool runs each task on a
// fiber of its own over a few OS threads. A fiber that waits — for a socket
// (Poll) or for an Event (the group commit holding its report) — hands its
// thread to the next fiber instead of putting the thread to sleep: 64
// connections in flight are a few threads on two cores, not 64 threads each
// woken twice a report by the kernel.
//
// A fiber stays on the thread that started it, so thread_local state (each
// thread's database connection) stays that thread's; it must not hold a lock
// or a database statement across a wait. Off a fiber, Poll and Event::Wait
// block the calling thread as usual.
//
//   fiber::Pool pool(64);
//   fiber::Event committed;
//   pool.Spawn([&] { committed.Wait(); Answer(); });  // no thread waits
//   committed.Set();

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>

namespace wangge::fiber {

class Pool {
 public:
  // Up to `threads` OS threads; `busy` of them run fibers while there is
  // work (more only when tasks wait, e.g. behind a thread stuck in a slow
  // call). 0: one per core.
  explicit Pool(size_t threads, size_t busy = 0);
  ~Pool();  // Shutdown()
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Runs `task` on a new fiber; false once shutting down (not run).
  bool Spawn(std::function<void()> task);
  // Takes no more tasks, waits for every fiber to end, stops the threads.
  void Shutdown();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// A one-time signal. Wait() returns once Set() has been called (at once if
// it has been already); on a fiber only the fiber waits.
class Event {
 public:
  void Wait();
  void Set();

 private:
  std::mutex mu_;
  std::condition_variable set_cv_;
  bool set_ = false;
  void* fiber_ = nullptr;  // the fiber waiting, if one is
};

// poll(2) for one descriptor: > 0 ready (or an error to read), 0 timed out,
// < 0 failed. On a fiber the wait suspends the fiber only, and the
// descriptor then stays in the fibers' epoll set until it is closed (call it
// after EAGAIN: it does not look first). A second fiber waiting on the same
// descriptor at once waits on its thread.
int Poll(int fd, short events, int timeout_ms);

// Waits `ms` milliseconds (to within 10 ms on a fiber, which waits alone).
void Sleep(int ms);

}  // namespace wangge::fiber
