#include "base/fiber.h"

#include <doctest/doctest.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

namespace wangge::fiber {
namespace {

using Clock = std::chrono::steady_clock;

// Polls `done` until it holds or 10 s pass.
template <class Done>
bool Eventually(Done done) {
  auto until = Clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (Clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST_CASE("fiber: fibers waiting on events share one thread") {
  Pool pool(1);
  constexpr int kFibers = 50;
  std::vector<std::unique_ptr<Event>> events;
  for (int i = 0; i < kFibers; ++i) events.push_back(std::make_unique<Event>());
  std::atomic<int> started{0};
  std::atomic<int> finished{0};
  for (int i = 0; i < kFibers; ++i) {
    REQUIRE(pool.Spawn([&, i] {
      ++started;
      events[size_t(i)]->Wait();
      ++finished;
    }));
  }
  // With a wait that held the thread, the second fiber would never start.
  CHECK(Eventually([&] { return started == kFibers; }));
  CHECK(finished == 0);
  for (auto& e : events) e->Set();
  CHECK(Eventually([&] { return finished == kFibers; }));
  pool.Shutdown();
}

TEST_CASE("fiber: an event set before the wait, and a wait off a fiber") {
  Event early;
  early.Set();
  early.Wait();  // returns at once
  Event later;
  std::thread setter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    later.Set();
  });
  later.Wait();  // blocks this thread until set
  setter.join();
  Pool pool(1);
  std::atomic<bool> done{false};
  Event set_first;
  set_first.Set();
  REQUIRE(pool.Spawn([&] {
    set_first.Wait();
    done = true;
  }));
  CHECK(Eventually([&] { return done.load(); }));
}

TEST_CASE("fiber: Poll waits for a descriptor without holding the thread") {
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  int silent[2];  // never written
  REQUIRE(::pipe(silent) == 0);
  Pool pool(1);
  std::atomic<int> polled{-9};
  std::atomic<int> timed_out{-9};
  std::atomic<int64_t> waited_ms{-1};
  std::atomic<bool> wrote{false};
  REQUIRE(pool.Spawn([&] {
    polled = Poll(pipe_fds[0], POLLIN, 10000);
    char c;
    CHECK(::read(pipe_fds[0], &c, 1) == 1);
  }));
  // Runs while the first waits: with a blocking poll, only after its 10 s.
  REQUIRE(pool.Spawn([&] { wrote = ::write(pipe_fds[1], "x", 1) == 1; }));
  REQUIRE(pool.Spawn([&] {
    auto start = Clock::now();
    timed_out = Poll(silent[0], POLLIN, 60);
    waited_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    Clock::now() - start)
                    .count();
  }));
  CHECK(Eventually([&] { return polled != -9 && timed_out != -9; }));
  pool.Shutdown();
  CHECK(wrote);
  CHECK(polled == 1);
  CHECK(timed_out == 0);
  CHECK(waited_ms >= 50);  // the deadline is kept to within 10 ms
  for (int fd : {pipe_fds[0], pipe_fds[1], silent[0], silent[1]}) ::close(fd);
}

TEST_CASE("fiber: Sleep on a fiber leaves its thread to the others") {
  Pool pool(1);
  std::atomic<bool> slept{false};
  std::atomic<bool> other_ran_first{false};
  std::atomic<int64_t> slept_ms{-1};
  REQUIRE(pool.Spawn([&] {
    auto start = Clock::now();
    Sleep(300);
    slept_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   Clock::now() - start)
                   .count();
    slept = true;
  }));
  REQUIRE(pool.Spawn([&] { other_ran_first = !slept; }));
  CHECK(Eventually([&] { return slept.load(); }));
  CHECK(other_ran_first);  // with the thread asleep, it ran after 300 ms
  CHECK(slept_ms >= 290);
  Sleep(5);  // off a fiber: the thread sleeps
}

TEST_CASE("fiber: a thread held up in a slow call gets a stand-in") {
  Pool pool(2, /*busy=*/1);
  std::atomic<bool> slow_done{false};
  std::atomic<bool> quick_done_first{false};
  REQUIRE(pool.Spawn([&] {
    // A call that blocks its thread (a slow disk): no fiber wait.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    slow_done = true;
  }));
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::atomic<bool> quick_done{false};
  REQUIRE(pool.Spawn([&] {
    quick_done_first = !slow_done;
    quick_done = true;
  }));
  CHECK(Eventually([&] { return quick_done.load(); }));
  CHECK(quick_done_first);
}

TEST_CASE(
    "fiber: Shutdown waits for waiting fibers; a task that throws ends "
    "alone") {
  auto pool = std::make_unique<Pool>(2);
  Event go;
  std::atomic<bool> finished{false};
  REQUIRE(pool->Spawn([] { throw std::runtime_error("a handler's bug"); }));
  REQUIRE(pool->Spawn([&] {
    go.Wait();
    finished = true;
  }));
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    go.Set();
  });
  pool->Shutdown();
  CHECK(finished);  // Shutdown returned only after the fiber ended
  CHECK_FALSE(pool->Spawn([] {}));  // no more tasks
  later.join();
  // Deep stacks work as on a thread (std::regex recurses a frame a
  // character).
  Pool deep(1);
  std::atomic<int> depth{0};
  std::function<int(int)> recurse = [&](int n) -> int {
    volatile char pad[512];
    pad[0] = char(n);
    return n == 0 ? pad[0] : recurse(n - 1) + 1;
  };
  REQUIRE(deep.Spawn([&] { depth = recurse(4000); }));
  CHECK(Eventually([&] { return depth == 4000; }));
}

}  // namespace
}  // namespace wangge::fiber
