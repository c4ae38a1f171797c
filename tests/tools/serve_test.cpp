// `wangge serve` as a real process on a real port: health, login, a report,
// durability across kill -9, graceful shutdown on SIGTERM.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "tests/cli.h"
#include "tests/temp_dir.h"

using nlohmann::json;
using namespace wangge::testing;

namespace {

constexpr const char* kPassword = "a-long-password";

// `wangge user ARGS --db DB --password-stdin` given kPassword; returns the
// exit status.
int User(const std::string& db, const std::string& args) {
  return Wangge("user " + args + " --db " + Q(db) + " --password-stdin",
                std::string(kPassword) + "\n")
      .status;
}

// A token for `username` (password kPassword) from the server `http` talks
// to; the test stops if the login fails.
std::string Login(httplib::Client& http, const std::string& username) {
  auto login =
      http.Post("/api/v1/login",
                json{{"username", username}, {"password", kPassword}}.dump(),
                "application/json");
  REQUIRE(login);
  REQUIRE_MESSAGE(login->status == 200, login->body);
  return json::parse(login->body)["token"];
}

// The sample town's database in `dir` with the dispatcher `phone`.
std::string TownWithPhone(const TempDir& dir) {
  std::string db = InitDb(dir);
  REQUIRE(User(db, "add --username phone --role dispatcher") == 0);
  return db;
}

// A plain TCP connection to 127.0.0.1:`port`, for requests as raw bytes.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(uint16_t(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) ==
            0);
  }
  ~RawConnection() { ::close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  void Send(const std::string& bytes) {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            ssize_t(bytes.size()));
  }

  // The next response's status line, headers and (by Content-Length) body;
  // what came so far when nothing arrives for 10 s or the server closes.
  std::string Response() {
    size_t end;
    while ((end = pending_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::exchange(pending_, "");
    }
    end += 4;
    std::string head = pending_.substr(0, end);
    size_t length = 0;
    if (auto at = head.find("Content-Length: "); at != std::string::npos) {
      length = std::stoul(head.substr(at + 16));
    }
    while (pending_.size() < end + length) {
      if (!Fill()) return std::exchange(pending_, "");
    }
    std::string response = pending_.substr(0, end + length);
    pending_.erase(0, end + length);
    return response;
  }

  // True when the server closed the connection within 10 s.
  bool Closed() {
    while (Fill()) {
    }
    return closed_;
  }

 private:
  bool Fill() {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 10000) != 1) return false;
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      closed_ = true;
      return false;
    }
    pending_.append(buf, size_t(n));
    return true;
  }

  int fd_;
  std::string pending_;
  bool closed_ = false;
};

}  // namespace

TEST_CASE(
    "wangge serve: 100-continue, pipelined requests, large answers and "
    "half-sent requests on real sockets") {
  TempDir dir;
  std::string db = TownWithPhone(dir);
  ServeProcess server(db, dir / "log");
  std::string token;
  {
    httplib::Client http("127.0.0.1", server.port());
    token = Login(http, "phone");
  }
  const std::string body =
      R"({"category":"05001","description":"垃圾堆放","lon":110.2444,"lat":34.518})";
  const std::string report =
      "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
      token + "\r\nContent-Type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n";
  RawConnection c(server.port());
  // A phone's client asking first: the 100 must come before the body is
  // sent, or both sides wait for each other.
  c.Send(report + "Idempotency-Key: expect-1\r\nExpect: 100-continue\r\n\r\n");
  CHECK(c.Response().starts_with("HTTP/1.1 100 Continue\r\n"));
  c.Send(body);
  std::string created = c.Response();
  CHECK(created.starts_with("HTTP/1.1 201 "));
  CHECK(created.find("\"status\":\"reported\"") != std::string::npos);
  // Two requests in one segment, then a report split across three: each
  // answered in order on the same connection.
  const std::string health = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  c.Send(health + health);
  CHECK(c.Response().starts_with("HTTP/1.1 200 "));
  CHECK(c.Response().starts_with("HTTP/1.1 200 "));
  std::string split = report + "Idempotency-Key: split-1\r\n\r\n" + body;
  c.Send(split.substr(0, 20));
  c.Send(split.substr(20, split.size() - 30));
  c.Send(split.substr(split.size() - 10));
  CHECK(c.Response().starts_with("HTTP/1.1 201 "));
  // An answer far over one send buffer's worth arrives whole.
  c.Send(
      "GET /api/v1/layers/cells.geojson HTTP/1.1\r\nHost: x\r\n"
      "Authorization: Bearer " +
      token + "\r\n\r\n");
  std::string cells = c.Response();
  REQUIRE(cells.starts_with("HTTP/1.1 200 "));
  std::string geojson = cells.substr(cells.find("\r\n\r\n") + 4);
  CHECK(geojson.size() > (256u << 10));
  CHECK(json::parse(geojson)["features"].size() == 225);
  // The last request asks to close: answered, then closed.
  c.Send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(c.Response().starts_with("HTTP/1.1 200 "));
  CHECK(c.Closed());
  {
    // A client gone mid-request costs the server nothing but the request.
    RawConnection gone(server.port());
    gone.Send(report + "Idempotency-Key: gone-1\r\n\r\n{\"categ");
  }
  {
    RawConnection idle(server.port());  // kept open while the server stops
    RawConnection after(server.port());
    after.Send(health);
    CHECK(after.Response().starts_with("HTTP/1.1 200 "));
    CHECK(server.Stop(SIGTERM) == 0);
  }
  std::string log = Slurp(dir / "log");
  CHECK(log.find(" 127.0.0.1 POST /api/v1/reports 201 ") != std::string::npos);
  CHECK(log.find("wangge: stopped") != std::string::npos);
}

TEST_CASE(
    "wangge serve: idle connections and requests trickling in hold no worker "
    "thread") {
  TempDir dir;
  std::string db = InitDb(dir);
  ServeProcess server(db, dir / "log", /*threads=*/2);
  const std::string health = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  // Browser tabs between requests, and phones on a bad network halfway
  // through a request's head: four times the worker threads of each.
  std::vector<std::unique_ptr<RawConnection>> idle, trickling;
  for (int i = 0; i < 8; ++i) {
    idle.push_back(std::make_unique<RawConnection>(server.port()));
    idle.back()->Send(health);
    REQUIRE(idle.back()->Response().starts_with("HTTP/1.1 200 "));
    trickling.push_back(std::make_unique<RawConnection>(server.port()));
    trickling.back()->Send("GET /healthz HTTP/1.1\r\nHo");
  }
  // Another client is answered at once (with a thread per open connection
  // it waited for the idle ones' 5 s and the trickling ones' 30 s).
  RawConnection next(server.port());
  next.Send(health);
  CHECK(next.Response().starts_with("HTTP/1.1 200 "));
  // /metrics counts them (an idle one waits for its worker's 50 ms first).
  std::string metrics;
  for (int i = 0; i < 50; ++i) {
    next.Send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    metrics = next.Response();
    if (metrics.find("wangge_http_connections{state=\"waiting\"} 16\n") !=
        std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK_MESSAGE(
      metrics.find("wangge_http_connections{state=\"waiting\"} 16\n") !=
          std::string::npos,
      metrics);
  CHECK(metrics.find("wangge_http_connections{state=\"serving\"} 1\n") !=
        std::string::npos);
  CHECK(metrics.find("wangge_http_worker_threads 2\n") != std::string::npos);
  // The waiting ones were kept: each request is answered when it is whole,
  // and the idle connections serve their next.
  for (auto& c : trickling) {
    c->Send("st: x\r\n\r\n");
    CHECK(c->Response().starts_with("HTTP/1.1 200 "));
  }
  for (auto& c : idle) {
    c->Send(health);
    CHECK(c->Response().starts_with("HTTP/1.1 200 "));
  }
  // A head over the 16 KiB the server buffers before it parses is
  // answered, not waited on.
  RawConnection big(server.port());
  big.Send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " +
           std::string(20000, 'a') + "\r\n\r\n");
  CHECK(big.Response().starts_with("HTTP/1.1 400 "));
  CHECK(server.Stop(SIGTERM) == 0);
}

namespace {

// The count of wangge_http_response_seconds_bucket{le="`le`"} in a /metrics
// response; -1 if it is not there.
int64_t ResponseBucket(const std::string& metrics, const std::string& le) {
  std::string key = "wangge_http_response_seconds_bucket{le=\"" + le + "\"} ";
  auto at = metrics.find(key);
  if (at == std::string::npos) return -1;
  return std::atoll(metrics.c_str() + at + key.size());
}

}  // namespace

TEST_CASE(
    "wangge serve: /metrics times a response from its request's first bytes, "
    "not from its handler") {
  TempDir dir;
  std::string db = InitDb(dir);
  ServeProcess server(db, dir / "log", /*threads=*/2);
  RawConnection scrape(server.port());
  const std::string metrics = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  scrape.Send(metrics);
  std::string before = scrape.Response();
  // A phone whose request head comes in two pieces 600 ms apart.
  RawConnection slow(server.port());
  slow.Send("GET /healthz HTTP/1.1\r\nHo");
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  slow.Send("st: x\r\n\r\n");
  CHECK(slow.Response().starts_with("HTTP/1.1 200 "));
  scrape.Send(metrics);
  std::string after = scrape.Response();
  // Between the two: the first /metrics (recorded once sent) and the slow
  // one, which took over 0.5 s from its first bytes (its handler: well
  // under a millisecond).
  CHECK(ResponseBucket(after, "+Inf") - ResponseBucket(before, "+Inf") == 2);
  CHECK_MESSAGE(
      ResponseBucket(after, "0.5") - ResponseBucket(before, "0.5") == 1, after);
  CHECK(ResponseBucket(after, "0.001") >= 0);
  CHECK(server.Stop(SIGTERM) == 0);
}

TEST_CASE(
    "wangge serve: on one worker thread, bodies arriving slowly hold no "
    "thread while other reports are answered") {
  TempDir dir;
  std::string db = TownWithPhone(dir);
  ServeProcess server(db, dir / "log", /*threads=*/1);
  std::string token;
  {
    httplib::Client http("127.0.0.1", server.port());
    token = Login(http, "phone");
  }
  auto report = [&](const std::string& key) {
    const std::string body = R"({"category":"05001","description":"垃圾堆放 )" +
                             key + R"(","lon":110.2444,"lat":34.518})";
    return "POST /api/v1/reports HTTP/1.1\r\nHost: x\r\nAuthorization: "
           "Bearer " +
           token + "\r\nIdempotency-Key: " + key +
           "\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  };
  // Phones on a bad network: each head and half its body are in, the rest
  // is still on its way (a photo over 2G takes minutes).
  std::vector<std::unique_ptr<RawConnection>> slow;
  std::vector<std::string> rest;
  for (int i = 0; i < 4; ++i) {
    std::string r = report("slow-" + std::to_string(i));
    size_t cut = r.size() - 20;
    slow.push_back(std::make_unique<RawConnection>(server.port()));
    slow.back()->Send(r.substr(0, cut));
    rest.push_back(r.substr(cut));
  }
  // With the thread waiting in a body's read, these waited 30 s for it.
  for (int i = 0; i < 3; ++i) {
    RawConnection quick(server.port());
    quick.Send(report("quick-" + std::to_string(i)));
    CHECK(quick.Response().starts_with("HTTP/1.1 201 "));
  }
  for (size_t i = 0; i < slow.size(); ++i) {
    slow[i]->Send(rest[i]);
    CHECK(slow[i]->Response().starts_with("HTTP/1.1 201 "));
  }
  CHECK(server.Stop(SIGTERM) == 0);
  std::string log = Slurp(dir / "log");
  size_t created = 0;
  for (size_t at = 0;
       (at = log.find(" POST /api/v1/reports 201 ", at)) != std::string::npos;
       ++at) {
    ++created;
  }
  CHECK(created == 7);
}

TEST_CASE(
    "wangge user: names, scopes and people are checked; the last admin stays "
    "enabled") {
  TempDir dir;
  std::string db = InitDb(dir);
  auto list = [&] { return Wangge("user list --db " + Q(db)).out; };
  std::string before = list();
  for (std::string bad :
       {"--username '' --role admin", "--username 'a b' --role admin",
        "--username P0001 --role office --scope ZZZX",  // p0001 exists
        "--username b1 --role branch --scope NOPE",
        "--username o1 --role office",
        "--username a1 --role admin --scope ZZZX",
        "--username g1 --role grid_leader --person P9999"}) {
    CHECK_MESSAGE(User(db, "add " + bad) == 2, bad);
  }
  CHECK(list() == before);  // nothing added
  auto add = [&](const std::string& password) {
    return Wangge("user add --db " + Q(db) +
                      " --username clerk-one --role dispatcher "
                      "--password-stdin",
                  password + "\n");
  };
  for (auto [password, why] :
       std::initializer_list<std::pair<std::string, std::string>>{
           {"short", "密码太短"},
           {"密码太短了", "密码太短"},  // 15 bytes, 5 characters
           {" leading-space", "首尾有空格"},
           {"trailing-space ", "首尾有空格"},
           {"tab\there-now", "控制字符"},
           {"caf\xE9-latin1", "不是 UTF-8"},
           {std::string(300, 'x') + "y", "太长"},
           {"12345678", "太容易猜"},
           {"PassWord", "太容易猜"},
           {"zzzzzzzzzz", "太容易猜"},
           {"CLERK-ONE", "太容易猜"}}) {
    Run r = add(password);
    CHECK_MESSAGE(r.status == 2, password);
    CHECK_MESSAGE(r.err.find(why) != std::string::npos, password << r.err);
  }
  CHECK(list() == before);
  CHECK(add("正确的马电池订书钉").status == 0);  // 9 characters
  auto passwd = [&](const std::string& password) {
    return Wangge(
        "user passwd --db " + Q(db) + " --username clerk-one --password-stdin",
        password + "\n");
  };
  CHECK(passwd("Clerk-One").err.find("太容易猜") != std::string::npos);
  CHECK(passwd("Clerk-One is my name").status == 0);
  CHECK(User(db, "add --username b1 --role branch --scope 610522102002-01") ==
        0);
  CHECK(User(db, "add --username boss --role admin") == 0);
  Run last = Wangge("user disable --db " + Q(db) + " --username boss");
  CHECK(last.status == 1);
  CHECK(last.err.find("last enabled admin") != std::string::npos);
  CHECK(User(db, "add --username boss2 --role admin") == 0);
  CHECK(Wangge("user disable --db " + Q(db) + " --username boss").status == 0);
}

TEST_CASE(
    "wangge serve: listens with a backlog of 1,024, and a second server on "
    "its port is refused") {
  TempDir dir;
  std::string db = InitDb(dir);
  ServeProcess server(db, dir / "log");
  std::string port = std::to_string(server.port());
  // ss -ltn shows a listening socket's backlog as its Send-Q.
  Run ss = Sh("ss -ltnH 'sport = :" + port + "'");
  REQUIRE_MESSAGE(ss.status == 0, ss.err);
  std::istringstream fields(ss.out);
  std::string state, recv_q, send_q;
  fields >> state >> recv_q >> send_q;
  CHECK(state == "LISTEN");
  CHECK(send_q == "1024");
  // Not a second listener sharing the port (SO_REUSEPORT) but an error.
  Run second = Wangge("serve --db " + Q(db) + " --listen 127.0.0.1:" + port +
                      " --threads 2 & pid=$!; sleep 5; kill $pid 2>/dev/null "
                      "&& echo still-running; wait $pid");
  CHECK(second.out.find("still-running") == std::string::npos);
  CHECK(second.status != 0);
  CHECK(second.err.find("another server using the port") != std::string::npos);
}

TEST_CASE("wangge serve: a report acknowledged survives kill -9") {
  TempDir dir;
  std::string db = InitDb(dir);
  REQUIRE(User(db, "passwd --username p0035") == 0);
  REQUIRE(User(db, "add --username disp --role dispatcher") == 0);
  CHECK(User(db, "add --username x --role king") == 2);

  int case_id = 0;
  {
    ServeProcess server(db, dir / "log1");
    httplib::Client http("127.0.0.1", server.port());
    auto health = http.Get("/healthz");
    REQUIRE(health);
    CHECK(health->status == 200);
    std::string token = Login(http, "p0035");
    httplib::Headers headers = {{"Authorization", "Bearer " + token},
                                {"Idempotency-Key", "phone-1-report-1"}};
    auto report = http.Post(
        "/api/v1/reports", headers,
        R"({"category":"01001","description":"邻里因宅基地边界争吵","lon":110.2444,"lat":34.518})",
        "application/json");
    REQUIRE(report);
    REQUIRE_MESSAGE(report->status == 201, report->body);
    case_id = json::parse(report->body)["id"];
    CHECK(server.Stop(SIGKILL) == -SIGKILL);
  }
  {
    ServeProcess server(db, dir / "log2");
    httplib::Client http("127.0.0.1", server.port());
    std::string token = Login(http, "disp");
    auto read = http.Get("/api/v1/cases/" + std::to_string(case_id),
                         {{"Authorization", "Bearer " + token}});
    REQUIRE(read);
    CHECK(read->status == 200);
    CHECK(json::parse(read->body)["description"] == "邻里因宅基地边界争吵");
    auto metrics = http.Get("/metrics");
    REQUIRE(metrics);
    CHECK(metrics->body.find("wangge_cases{status=\"reported\"} 1") !=
          std::string::npos);
    // Garbage never crashes the server.
    auto junk =
        http.Post("/api/v1/reports", {{"Authorization", "Bearer " + token}},
                  std::string("\xff\xfe{{{", 5), "application/json");
    REQUIRE(junk);
    CHECK(junk->status == 400);
    CHECK(http.Get("/healthz")->status == 200);
    // The access log reaches stderr while the server runs (it is written
    // every 50 ms; 2 s allowed here).
    bool logged = false;
    for (int i = 0; i < 200 && !logged; ++i) {
      logged = Slurp(dir / "log2").find("POST /api/v1/reports 400") !=
               std::string::npos;
      if (!logged) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(logged);
    CHECK(server.Stop(SIGTERM) == 0);
  }
  std::string log = Slurp(dir / "log2");
  CHECK(log.find("POST /api/v1/login 200") != std::string::npos);  // access log
  CHECK(log.find("wangge: stopped") != std::string::npos);
}

TEST_CASE(
    "wangge serve: the built boundary index is written while it serves, and "
    "read at the next start") {
  TempDir dir;
  std::string db = InitDb(dir);
  std::string index = db + "-index";
  std::filesystem::remove(index);  // as a new database has none
  {
    ServeProcess server(db, dir / "log1");
    httplib::Client http("127.0.0.1", server.port());
    CHECK(http.Get("/healthz")->status == 200);
    CHECK(server.Stop(SIGTERM) == 0);
  }
  std::string first = Slurp(dir / "log1");
  auto written = first.find("boundary index written to " + index);
  std::string building =
      "no boundary index file: answering through the R-trees while the "
      "grids are built, then writing " +
      index;
  CHECK(first.find("wangge: loading " + db) < first.find(building));
  CHECK(first.find(building) < first.find("wangge serving"));
  CHECK(first.find("boundary grids built in ") < written);
  CHECK(written != std::string::npos);
  CHECK(written < first.find("wangge: stopped"));  // stopping waited for it
  REQUIRE(std::filesystem::exists(index));
  {
    ServeProcess server(db, dir / "log2");
    httplib::Client http("127.0.0.1", server.port());
    auto health = http.Get("/healthz");
    REQUIRE(health);
    CHECK(json::parse(health->body)["boundary_grids"] == "ready");
    CHECK(server.Stop(SIGTERM) == 0);
  }
  std::string second = Slurp(dir / "log2");
  CHECK(second.find("boundary index read from " + index) != std::string::npos);
  CHECK(second.find("written") == std::string::npos);
}

TEST_CASE(
    "wangge serve: killed mid-stream, every acknowledged report is there "
    "exactly once") {
  TempDir dir;
  std::string db = TownWithPhone(dir);
  std::vector<std::string> acknowledged;
  std::mutex mu;
  {
    ServeProcess server(db, dir / "log");
    httplib::Client login_client("127.0.0.1", server.port());
    std::string token = Login(login_client, "phone");
    std::atomic<bool> stop{false};
    std::vector<std::thread> phones;
    for (int t = 0; t < 6; ++t) {
      phones.emplace_back([&, t] {
        httplib::Client http("127.0.0.1", server.port());
        http.set_connection_timeout(2);
        http.set_read_timeout(2);
        for (int i = 0; i < 400 && !stop; ++i) {
          std::string key =
              "phone" + std::to_string(t) + "-" + std::to_string(i);
          auto r = http.Post(
              "/api/v1/reports",
              {{"Authorization", "Bearer " + token}, {"Idempotency-Key", key}},
              R"({"category":"05001","description":"垃圾堆放","lon":110.2444,"lat":34.518})",
              "application/json");
          if (r && r->status == 201) {
            std::lock_guard lock(mu);
            acknowledged.push_back(key);
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    CHECK(server.Stop(SIGKILL) == -SIGKILL);
    stop = true;
    for (auto& p : phones) p.join();
  }
  MESSAGE("acknowledged before the kill: " << acknowledged.size());
  REQUIRE(acknowledged.size() > 10);
  ServeProcess server(db, dir / "log2");
  httplib::Client http("127.0.0.1", server.port());
  // 500 cases take ~1.5 s to list under AddressSanitizer, longer beside
  // other tests, and the client gives up after 5 s by default.
  http.set_read_timeout(60);
  std::string token = Login(http, "phone");
  // Retrying every acknowledged key returns the stored case (200), never a
  // new one (201): each is there exactly once.
  std::set<int> ids;
  for (const std::string& key : acknowledged) {
    auto r = http.Post(
        "/api/v1/reports",
        {{"Authorization", "Bearer " + token}, {"Idempotency-Key", key}},
        R"({"category":"05001","description":"垃圾堆放","lon":110.2444,"lat":34.518})",
        "application/json");
    REQUIRE(r);
    REQUIRE(r->status == 200);
    ids.insert(json::parse(r->body)["id"].get<int>());
  }
  CHECK(ids.size() == acknowledged.size());
  auto list = http.Get("/api/v1/cases?limit=500",
                       {{"Authorization", "Bearer " + token}});
  REQUIRE(list);
  size_t stored = json::parse(list->body)["cases"].size();
  // Reports in flight at the kill may be stored without an answer; none
  // acknowledged may be missing.
  CHECK(stored >= std::min<size_t>(acknowledged.size(), 500));
}

TEST_CASE(
    "wangge serve: 64 clients for 10 seconds, every acknowledged report "
    "stored exactly once") {
  TempDir dir;
  std::string db = TownWithPhone(dir);
  ServeProcess server(db, dir / "log", 80);
  httplib::Client login_client("127.0.0.1", server.port());
  std::string token = Login(login_client, "phone");
  const std::string body =
      R"({"category":"05001","description":"垃圾堆放","lon":110.2444,"lat":34.518})";
  constexpr int kClients = 64;
  std::vector<std::vector<std::string>> acknowledged(kClients);
  std::atomic<int> failures{0};
  std::mutex failure_mu;
  std::string failure_text;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      httplib::Client http("127.0.0.1", server.port());
      http.set_keep_alive(true);
      http.set_read_timeout(30);
      for (int i = 0; std::chrono::steady_clock::now() < until; ++i) {
        std::string key = "c" + std::to_string(t) + "-" + std::to_string(i);
        auto r = http.Post(
            "/api/v1/reports",
            {{"Authorization", "Bearer " + token}, {"Idempotency-Key", key}},
            body, "application/json");
        if (r && r->status == 201) {
          acknowledged[t].push_back(key);
        } else {
          ++failures;
          std::lock_guard lock(failure_mu);
          failure_text +=
              (r ? std::to_string(r->status) + " " + r->body
                 : "transport error " + httplib::to_string(r.error())) +
              "\n";
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  size_t total = 0;
  for (const auto& keys : acknowledged) total += keys.size();
  MESSAGE("64 clients, 10 s: " << total << " reports acknowledged, "
                               << failures.load() << " failed");
  // A refusal under load (e.g. 503 when the machine stalls) is not a loss;
  // it must stay rare, and is shown when it happens.
  if (failures > 0) MESSAGE("refused or failed: " << failure_text);
  CHECK(failures * 100 <= int(total));
  REQUIRE(total > 64);
  // Every client got answers, not just a lucky few connections.
  for (const auto& keys : acknowledged) CHECK(!keys.empty());
  // The database holds every acknowledged report (and at most the failed
  // ones besides, stored but unanswered)...
  auto metrics = login_client.Get("/metrics");
  REQUIRE(metrics);
  std::string gauge = "wangge_cases{status=\"reported\"} ";
  auto at = metrics->body.find(gauge);
  REQUIRE(at != std::string::npos);
  long long stored = std::atoll(metrics->body.c_str() + at + gauge.size());
  CHECK(stored >= (long long)total);
  CHECK(stored <= (long long)total + failures);
  // ...and each key maps to its own case: resending a sample returns it.
  std::set<int> ids;
  for (const auto& keys : acknowledged) {
    for (size_t i = 0; i < keys.size(); i += 50) {
      auto r = login_client.Post(
          "/api/v1/reports",
          {{"Authorization", "Bearer " + token}, {"Idempotency-Key", keys[i]}},
          body, "application/json");
      REQUIRE(r);
      REQUIRE(r->status == 200);
      CHECK(ids.insert(json::parse(r->body)["id"].get<int>()).second);
    }
  }
  CHECK(server.Stop(SIGTERM) == 0);
}
