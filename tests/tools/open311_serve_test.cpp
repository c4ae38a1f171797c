// Open311 through the real `wangge serve` on a loopback port, posted by the
// real curl the way Open311 clients and shell scripts do it
// (--data-urlencode), and read back as JSON and as XML that xmllint parses.
#include <doctest/doctest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/temp_dir.h"

using nlohmann::json;
using wangge::testing::TempDir;

namespace {

const std::string kTown = std::string(WANGGE_DATA_DIR) + "/taiyao";

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs a shell command; returns its exit status and puts stdout in `out`.
int Shell(const std::string& cmd, std::string* out = nullptr) {
  FILE* p = popen(cmd.c_str(), "r");
  std::string text;
  char buf[4096];
  while (size_t got = fread(buf, 1, sizeof buf, p)) text.append(buf, got);
  int raw = pclose(p);
  if (out) *out = text;
  return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

// `wangge serve` on a free port, killed when the test ends.
struct ServeProcess {
  pid_t pid = -1;
  int port = 0;

  ServeProcess(const std::string& db, const std::string& log) {
    pid = fork();
    if (pid == 0) {
      FILE* f = std::freopen(log.c_str(), "a", stderr);
      (void)f;
      execl(WANGGE_BIN, WANGGE_BIN, "serve", "--db", db.c_str(), "--listen",
            "127.0.0.1:0", "--threads", "2", nullptr);
      _exit(127);
    }
    for (int i = 0; i < 200 && port == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::string text = ReadAll(log);
      if (auto at = text.rfind("on http://127.0.0.1:");
          at != std::string::npos) {
        port = std::atoi(text.c_str() + at + 20);
      }
    }
    REQUIRE_MESSAGE(port > 0, ReadAll(log));
  }
  ~ServeProcess() {
    if (pid > 0) {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  }
};

}  // namespace

TEST_CASE(
    "wangge serve: Open311 form POST by curl, read back in JSON and XML") {
  TempDir dir;
  std::string db = dir / "town.db";
  std::string wangge = std::string("'") + WANGGE_BIN + "' ";
  REQUIRE(Shell(wangge + "init --db '" + db + "' --data '" + kTown +
                "' 2>/dev/null") == 0);
  std::string pw = dir.Write("pw", "a-long-password\n");
  REQUIRE(Shell(wangge + "user passwd --db '" + db +
                "' --username p0021 --password-stdin <'" + pw +
                "' 2>/dev/null") == 0);
  ServeProcess server(db, dir / "log");
  std::string base = "http://127.0.0.1:" + std::to_string(server.port);

  httplib::Client http("127.0.0.1", server.port);
  auto login = http.Post("/api/v1/login",
                         R"({"username":"p0021","password":"a-long-password"})",
                         "application/json");
  REQUIRE(login);
  REQUIRE_MESSAGE(login->status == 200, login->body);
  std::string token = json::parse(login->body)["token"];

  std::string text = "村口有人焚烧秸秆 & 浓烟 <很大> \"急\" 100%+";
  std::string description = dir.Write("description", text);
  std::string curl =
      "curl -sS -w '\\n%{http_code}' " + base +
      "/open311/v2/requests.json --data-urlencode 'api_key=" + token +
      "' --data-urlencode 'jurisdiction_id=610522102' --data-urlencode "
      "'service_code=04001' --data-urlencode 'lat=34.518' --data-urlencode "
      "'long=110.2444' --data-urlencode 'address_string=太要村 东口' "
      "--data-urlencode 'description@" +
      description + "'";
  std::string out;
  REQUIRE(Shell(curl, &out) == 0);
  CAPTURE(out);
  auto nl = out.rfind('\n');
  REQUIRE(nl != std::string::npos);
  CHECK(out.substr(nl + 1) == "201");
  json created = json::parse(out.substr(0, nl));
  std::string id = created[0]["service_request_id"];
  CHECK(id.starts_with("TY-"));
  // curl retrying the identical form: the same case, no second one.
  REQUIRE(Shell(curl, &out) == 0);
  CHECK(out.substr(out.rfind('\n') + 1) == "200");
  CHECK(json::parse(out.substr(0, out.rfind('\n')))[0]["service_request_id"] ==
        id);

  auto read = http.Get("/open311/v2/requests/" + id + ".json?api_key=" + token);
  REQUIRE(read);
  REQUIRE_MESSAGE(read->status == 200, read->body);
  json req = json::parse(read->body)[0];
  CHECK(req["description"] == text);
  CHECK(req["address"] == "太要村 东口");

  auto list = http.Get("/open311/v2/requests.json?api_key=" + token);
  REQUIRE(list);
  CHECK(json::parse(list->body).size() == 1);

  // XML, checked by a real parser.
  std::string xml_file = dir / "requests.xml";
  REQUIRE(Shell("curl -sS -o '" + xml_file + "' '" + base +
                "/open311/v2/requests.xml?api_key=" + token + "'") == 0);
  std::string selected;
  REQUIRE(Shell("xmllint --xpath 'string(/service_requests/request/"
                "description)' '" +
                    xml_file + "'",
                &selected) == 0);
  if (selected.ends_with('\n')) selected.pop_back();
  CHECK(selected == text);

  // Errors in Open311's list, with the HTTP status.
  auto bad = http.Post("/open311/v2/requests.xml",
                       "api_key=" + token + "&service_code=04001&lat=north",
                       "application/x-www-form-urlencoded");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(bad->body.find("<errors><error><code>400</code>") != std::string::npos);
  auto discovery = http.Get("/open311/v2/discovery.json");
  REQUIRE(discovery);
  CHECK(json::parse(discovery->body)["endpoints"][0]["url"] ==
        base + "/open311/v2");
}
