#include "base/fiber.h"

#include <poll.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

// On x86-64 a fiber switch is the few instructions below. glibc's
// swapcontext saves and restores the signal mask, a system call each way
// (3.5 a report at intake, about 1 µs each here); fibers never change it.
// Elsewhere, or built with WANGGE_FIBER_UCONTEXT (a test does), ucontext.
#if defined(__x86_64__) && !defined(WANGGE_FIBER_UCONTEXT)
#define WANGGE_FIBER_ASM 1
// Pushes the callee-saved registers and the SSE and x87 control words on
// the running stack, stores its pointer in *from, then pops the same from
// the stack `to` (saved by an earlier switch, or laid out by Start) and
// returns there.
extern "C" void wangge_fiber_switch(void** from, void* to);
asm(R"(
  .text
  .p2align 4
  .globl wangge_fiber_switch
  .hidden wangge_fiber_switch
  .type wangge_fiber_switch, @function
wangge_fiber_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size wangge_fiber_switch, .-wangge_fiber_switch
)");
#endif

namespace wangge::fiber {

struct Worker;

namespace {

using Clock = std::chrono::steady_clock;

// As large as a thread's stack: request handlers were written for one
// (libstdc++'s std::regex, which cpp-httplib routes with, recurses once a
// character of the path). Only the pages a fiber touches take memory.
constexpr size_t kStackBytes = size_t(8) << 20;
// Ended fibers a thread keeps for reuse, stack included.
constexpr size_t kSpareFibers = 32;
// A thread running one fiber this long without a wait counts as held up (a
// slow call): while tasks wait, another thread is woken to stand in.
constexpr auto kHeldUp = std::chrono::milliseconds(20);

// Where a fiber or a thread's scheduler was switched away from.
struct Context {
#if WANGGE_FIBER_ASM
  void* sp = nullptr;
#else
  ucontext_t uc;
#endif
};

// Saves the running context in `from` and resumes `to`.
void Switch(Context& from, Context& to) {
#if WANGGE_FIBER_ASM
  wangge_fiber_switch(&from.sp, to.sp);
#else
  swapcontext(&from.uc, &to.uc);
#endif
}

// Lays out `c` to begin `entry` (which never returns) on the stack
// [stack, stack + size).
void Start(Context& c, char* stack, size_t size, void (*entry)()) {
#if WANGGE_FIBER_ASM
  // From the top: a null return address for `entry` (so the stack ends
  // there for a debugger), `entry` for the switch's ret, six null
  // registers, and this thread's control words. The ret leaves the stack
  // pointer 8 off a 16-byte boundary, as a call does.
  auto top = reinterpret_cast<uintptr_t>(stack + size) & ~uintptr_t{15};
  auto* sp = reinterpret_cast<void**>(top);
  *--sp = nullptr;
  *--sp = reinterpret_cast<void*>(entry);
  for (int i = 0; i < 6; ++i) *--sp = nullptr;
  uint32_t mxcsr;
  uint16_t fpu_control;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fpu_control));
  --sp;
  std::memcpy(sp, &mxcsr, 4);
  std::memcpy(reinterpret_cast<char*>(sp) + 4, &fpu_control, 2);
  c.sp = sp;
#else
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = stack;
  c.uc.uc_stack.ss_size = size;
  c.uc.uc_link = nullptr;
  makecontext(&c.uc, entry, 0);
#endif
}

struct Fiber {
  Context context;
  char* mapping = nullptr;  // guard page, then the stack
  std::function<void()> task;
  Worker* home = nullptr;
  bool done = false;
  void* fake_stack = nullptr;  // AddressSanitizer's, while switched out
};

// Tells AddressSanitizer which stack the thread is about to run on.
void StartSwitch(void** fake_stack, const void* bottom, size_t size) {
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_start_switch_fiber(fake_stack, bottom, size);
#else
  (void)fake_stack, (void)bottom, (void)size;
#endif
}
void FinishSwitch(void* fake_stack, const void** bottom, size_t* size) {
#if defined(__SANITIZE_ADDRESS__)
  __sanitizer_finish_switch_fiber(fake_stack, bottom, size);
#else
  (void)fake_stack, (void)bottom, (void)size;
#endif
}

size_t PageSize() {
  static const size_t page = size_t(sysconf(_SC_PAGESIZE));
  return page;
}

void RunOnThread(const std::function<void()>& task) {
  try {
    task();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fiber: uncaught exception: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "fiber: uncaught exception\n");
  }
}

int PollThread(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  int r;
  do {
    r = ::poll(&p, 1, timeout_ms);
  } while (r < 0 && errno == EINTR);
  return r;
}

}  // namespace

// One OS thread of a pool and the fibers it runs.
struct Worker {
  explicit Worker(Pool::Impl& p) : pool(p) {}
  Pool::Impl& pool;
  std::condition_variable wake;
  // Guarded by the pool's mutex.
  bool sleeping = false;
  std::deque<Fiber*> ready;
  // This thread only.
  size_t fibers = 0;  // started, not ended
  // When the fiber running now was switched to (Clock ticks); 0: none runs.
  std::atomic<Clock::rep> running_since{0};
  Context scheduler;
  Fiber* current = nullptr;
  std::vector<Fiber*> spare;
  void* fake_stack = nullptr;
  const void* stack_bottom = nullptr;  // the thread's own stack
  size_t stack_size = 0;
  std::thread thread;

  // Takes `task` once it has a stack for it; null (task left) when not.
  Fiber* NewFiber(std::function<void()>& task);
  void Run(Fiber* f);   // until it waits or ends
  void Suspend();       // the current fiber: back to the scheduler
  static void Entry();  // a fiber's first frame
  void Release(Fiber* f);
  ~Worker();
};

namespace {
thread_local Worker* t_worker = nullptr;
}

struct Pool::Impl {
  // A fiber in Poll.
  struct FdWait {
    Fiber* fiber;
    int fd;
    Clock::time_point deadline;
    int result = 0;
  };

  explicit Impl(size_t threads, size_t busy_limit)
      : busy_limit(busy_limit), epoll(epoll_create1(EPOLL_CLOEXEC)) {
    for (size_t i = 0; i < threads; ++i) {
      workers.push_back(std::make_unique<Worker>(*this));
    }
    std::lock_guard lock(mu);
    busy = workers.size();
    for (auto& w : workers) {
      Worker* worker = w.get();
      worker->thread = std::thread([this, worker] { Loop(*worker); });
    }
    io = std::thread([this] { IoLoop(); });
  }

  void Loop(Worker& w);
  // REQUIRES: mu held. Marks `w` awake if it sleeps: then the caller
  // notifies the returned worker (after letting go of mu).
  Worker* WakeLocked(Worker& w);
  void MakeReady(Fiber* f);
  int WaitFd(Fiber* f, int fd, short events, int timeout_ms);
  void IoLoop();

  const size_t busy_limit;
  std::mutex mu;
  std::deque<std::function<void()>> tasks;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<Worker*> idle;  // the last to fall asleep last
  size_t busy = 0;            // workers not asleep
  bool stopping = false;

  const int epoll;
  std::mutex io_mu;
  std::unordered_set<FdWait*> fd_waits;
  // Descriptors with a fiber waiting: a second waiter (whose re-arm would
  // replace the first's) waits on its thread instead.
  std::unordered_set<int> waited_fds;
  bool io_stopping = false;
  std::thread io;
};

Fiber* Worker::NewFiber(std::function<void()>& task) {
  Fiber* f;
  if (!spare.empty()) {
    f = spare.back();
    spare.pop_back();
  } else {
    f = new Fiber;
    size_t guard = PageSize();
    void* m =
        mmap(nullptr, guard + kStackBytes, PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (m == MAP_FAILED) {
      delete f;
      return nullptr;
    }
    f->mapping = static_cast<char*>(m);
    mprotect(f->mapping, guard, PROT_NONE);  // an overflow faults here
    f->home = this;
  }
  f->task = std::move(task);
  f->done = false;
  Start(f->context, f->mapping + PageSize(), kStackBytes, &Worker::Entry);
  ++fibers;
  return f;
}

void Worker::Run(Fiber* f) {
  current = f;
  running_since.store(Clock::now().time_since_epoch().count(),
                      std::memory_order_relaxed);
  StartSwitch(&fake_stack, f->mapping + PageSize(), kStackBytes);
  Switch(scheduler, f->context);
  FinishSwitch(fake_stack, nullptr, nullptr);
  running_since.store(0, std::memory_order_relaxed);
  current = nullptr;
  if (f->done) Release(f);
}

void Worker::Suspend() {
  Fiber* f = current;
  StartSwitch(&f->fake_stack, stack_bottom, stack_size);
  Switch(f->context, scheduler);
  FinishSwitch(f->fake_stack, &stack_bottom, &stack_size);
}

void Worker::Entry() {
  Worker* w = t_worker;
  Fiber* f = w->current;
  FinishSwitch(nullptr, &w->stack_bottom, &w->stack_size);
  RunOnThread(f->task);
  f->task = nullptr;  // its captures go now, on this stack
  f->done = true;
  // Never resumed: its fake stack can go.
  StartSwitch(nullptr, w->stack_bottom, w->stack_size);
  Switch(f->context, w->scheduler);
  std::abort();  // unreachable
}

void Worker::Release(Fiber* f) {
  --fibers;
  if (spare.size() < kSpareFibers) {
    spare.push_back(f);
    return;
  }
  munmap(f->mapping, PageSize() + kStackBytes);
  delete f;
}

Worker::~Worker() {
  for (Fiber* f : spare) {
    munmap(f->mapping, PageSize() + kStackBytes);
    delete f;
  }
}

void Pool::Impl::Loop(Worker& w) {
  t_worker = &w;
  std::unique_lock lock(mu);
  for (;;) {
    Fiber* f = nullptr;
    std::function<void()> task;
    if (!w.ready.empty()) {
      f = w.ready.front();
      w.ready.pop_front();
    } else if (!tasks.empty()) {
      task = std::move(tasks.front());
      tasks.pop_front();
    } else if (stopping && w.fibers == 0) {
      --busy;
      return;
    } else {
      w.sleeping = true;
      idle.push_back(&w);
      --busy;
      w.wake.wait(lock, [&] { return !w.sleeping; });
      continue;
    }
    lock.unlock();
    if (task) {
      f = w.NewFiber(task);
      if (!f) {
        // No room for a stack (the map count, or strict overcommit): the
        // task runs on the thread, its waits holding it as before fibers.
        RunOnThread(task);
        lock.lock();
        continue;
      }
    }
    w.Run(f);
    lock.lock();
  }
}

Worker* Pool::Impl::WakeLocked(Worker& w) {
  if (!w.sleeping) return nullptr;
  w.sleeping = false;
  idle.erase(std::find(idle.begin(), idle.end(), &w));
  ++busy;
  return &w;
}

void Pool::Impl::MakeReady(Fiber* f) {
  Worker* wake;
  {
    std::lock_guard lock(mu);
    f->home->ready.push_back(f);
    wake = WakeLocked(*f->home);
  }
  if (wake) wake->wake.notify_one();
}

int Pool::Impl::WaitFd(Fiber* f, int fd, short events, int timeout_ms) {
  FdWait wait{f, fd,
              timeout_ms < 0
                  ? Clock::time_point::max()
                  : Clock::now() + std::chrono::milliseconds(timeout_ms)};
  epoll_event event{};
  event.events = EPOLLONESHOT | EPOLLRDHUP;
  if (events & POLLIN) event.events |= EPOLLIN;
  if (events & POLLOUT) event.events |= EPOLLOUT;
  event.data.ptr = &wait;
  {
    std::lock_guard lock(io_mu);
    // A descriptor stays in the set, disarmed by EPOLLONESHOT once it has
    // fired, until it is closed: a wait re-arms it (one system call, not
    // an add and a delete a wait).
    bool armed =
        !io_stopping &&
        (fd < 0 || (!waited_fds.contains(fd) &&
                    (epoll_ctl(epoll, EPOLL_CTL_MOD, fd, &event) == 0 ||
                     (errno == ENOENT &&
                      epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event) == 0))));
    if (!armed) return -2;   // the caller waits on its thread
    fd_waits.insert(&wait);  // fd -1: a timer only
    if (fd >= 0) waited_fds.insert(fd);
  }
  f->home->Suspend();  // until IoLoop has the answer
  return wait.result;
}

void Pool::Impl::IoLoop() {
  std::vector<epoll_event> events(64);
  auto next_sweep = Clock::now();
  for (;;) {
    {
      std::lock_guard lock(io_mu);
      if (io_stopping) return;
    }
    // Timeouts are kept to within 10 ms (a poll that timed out is no error
    // for any caller here). It wakes every 10 ms also when idle: 100 short
    // wake-ups a second, where a longer idle sleep needed a wake-up channel
    // for each wait that began during it.
    int n = epoll_wait(epoll, events.data(), int(events.size()), 10);
    std::vector<Fiber*> woken;
    auto now = Clock::now();
    {
      std::lock_guard lock(io_mu);
      for (int i = 0; i < n; ++i) {
        auto* wait = static_cast<FdWait*>(events[i].data.ptr);
        if (fd_waits.erase(wait) == 0) continue;
        waited_fds.erase(wait->fd);
        wait->result = 1;
        woken.push_back(wait->fiber);
      }
      if (now >= next_sweep) {
        for (auto it = fd_waits.begin(); it != fd_waits.end();) {
          FdWait* wait = *it;
          if (wait->deadline > now) {
            ++it;
            continue;
          }
          if (wait->fd >= 0) {
            epoll_ctl(epoll, EPOLL_CTL_DEL, wait->fd, nullptr);
            waited_fds.erase(wait->fd);
          }
          wait->result = 0;
          woken.push_back(wait->fiber);
          it = fd_waits.erase(it);
        }
        next_sweep = now + std::chrono::milliseconds(10);
      }
    }
    for (Fiber* f : woken) MakeReady(f);
    // Tasks waiting while threads sleep and busy ones are held up.
    Worker* wake = nullptr;
    {
      std::lock_guard lock(mu);
      if (!tasks.empty() && !idle.empty()) {
        auto held_since = (now - kHeldUp).time_since_epoch().count();
        size_t held = 0;
        for (const auto& w : workers) {
          auto since = w->running_since.load(std::memory_order_relaxed);
          if (since != 0 && since < held_since) ++held;
        }
        if (busy < busy_limit + held) wake = WakeLocked(*idle.back());
      }
    }
    if (wake) wake->wake.notify_one();
  }
}

Pool::Pool(size_t threads, size_t busy) {
  size_t cores = std::max(1u, std::thread::hardware_concurrency());
  impl_ =
      std::make_unique<Impl>(std::max<size_t>(1, threads), busy ? busy : cores);
}

Pool::~Pool() { Shutdown(); }

bool Pool::Spawn(std::function<void()> task) {
  Impl& p = *impl_;
  Worker* wake = nullptr;
  {
    std::lock_guard lock(p.mu);
    if (p.stopping) return false;
    p.tasks.push_back(std::move(task));
    if (p.busy < p.busy_limit && !p.idle.empty()) {
      wake = p.WakeLocked(*p.idle.back());
    }
  }
  if (wake) wake->wake.notify_one();
  return true;
}

void Pool::Shutdown() {
  Impl& p = *impl_;
  std::vector<Worker*> notify;
  {
    std::lock_guard lock(p.mu);
    if (p.stopping) return;
    p.stopping = true;
    while (!p.idle.empty()) notify.push_back(p.WakeLocked(*p.idle.back()));
  }
  for (Worker* w : notify) w->wake.notify_one();
  // A worker ends once it has no fiber left; one whose fibers still wait
  // sleeps until they are ready (their Poll needs the I/O thread).
  for (auto& w : p.workers) w->thread.join();
  {
    std::lock_guard lock(p.io_mu);
    p.io_stopping = true;
  }
  p.io.join();
  ::close(p.epoll);
}

void Event::Wait() {
  std::unique_lock lock(mu_);
  if (set_) return;
  Worker* w = t_worker;
  if (w && w->current) {
    fiber_ = w->current;
    lock.unlock();
    w->Suspend();  // until Set() makes it ready
    return;
  }
  set_cv_.wait(lock, [&] { return set_; });
}

void Event::Set() {
  std::lock_guard lock(mu_);
  set_ = true;
  if (fiber_) {
    auto* f = static_cast<Fiber*>(fiber_);
    f->home->pool.MakeReady(f);
  } else {
    set_cv_.notify_all();
  }
}

int Poll(int fd, short events, int timeout_ms) {
  Worker* w = t_worker;
  if (!w || !w->current || timeout_ms == 0) {
    return PollThread(fd, events, timeout_ms);
  }
  int r = w->pool.WaitFd(w->current, fd, events, timeout_ms);
  return r == -2 ? PollThread(fd, events, timeout_ms) : r;
}

void Sleep(int ms) {
  Worker* w = t_worker;
  if (ms > 0 && w && w->current &&
      w->pool.WaitFd(w->current, -1, 0, ms) != -2) {
    return;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(std::max(ms, 0)));
}

}  // namespace wangge::fiber
