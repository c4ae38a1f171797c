// Open311 through the real `wangge serve` on a loopback port, posted by the
// real curl the way Open311 clients and shell scripts do it
// (--data-urlencode), and read back as JSON and as XML that xmllint parses.
#include <doctest/doctest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "tests/cli.h"
#include "tests/temp_dir.h"

using nlohmann::json;
using namespace wangge::testing;

namespace {

// A town served on a loopback port, and a token of its user p0021.
struct Served {
  TempDir dir;
  std::string db = InitDb(dir);
  std::string log = dir / "log";
  bool passwd =
      Wangge("user passwd --db " + Q(db) + " --username p0021 --password-stdin",
             "a-long-password\n")
          .status == 0;
  ServeProcess server{db, log, 2};
  httplib::Client http{"127.0.0.1", server.port()};
  std::string token = Login();

  std::string Login() {
    REQUIRE(passwd);
    auto r = http.Post("/api/v1/login",
                       R"({"username":"p0021","password":"a-long-password"})",
                       "application/json");
    REQUIRE(r);
    REQUIRE_MESSAGE(r->status == 200, r->body);
    return json::parse(r->body)["token"];
  }
};

}  // namespace

TEST_CASE(
    "wangge serve: Open311 form POST by curl, read back in JSON and XML") {
  Served s;
  TempDir& dir = s.dir;
  std::string base = "http://127.0.0.1:" + std::to_string(s.server.port());
  httplib::Client& http = s.http;
  const std::string& token = s.token;

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
  Run posted = Sh(curl);
  REQUIRE_MESSAGE(posted.status == 0, posted.err);
  std::string out = posted.out;
  CAPTURE(out);
  auto nl = out.rfind('\n');
  REQUIRE(nl != std::string::npos);
  CHECK(out.substr(nl + 1) == "201");
  json created = json::parse(out.substr(0, nl));
  std::string id = created[0]["service_request_id"];
  CHECK(id.starts_with("TY-"));
  // curl retrying the identical form: the same case, no second one.
  posted = Sh(curl);
  REQUIRE_MESSAGE(posted.status == 0, posted.err);
  out = posted.out;
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
  Run fetched = Sh("curl -sS -o " + Q(xml_file) + " " +
                   Q(base + "/open311/v2/requests.xml?api_key=" + token));
  REQUIRE_MESSAGE(fetched.status == 0, fetched.err);
  Run xpath =
      Sh("xmllint --xpath 'string(/service_requests/request/description)' " +
         Q(xml_file));
  REQUIRE_MESSAGE(xpath.status == 0, xpath.err);
  std::string selected = xpath.out;
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

TEST_CASE(
    "wangge serve: a long Open311 form, a multipart post and a forged log "
    "line, over HTTP") {
  Served s;
  httplib::Client& http = s.http;
  const std::string& token = s.token;

  // 1,200 Chinese characters: 3,600 bytes of UTF-8, 10,800 percent-encoded —
  // over the 8,192 bytes Debian's cpp-httplib takes in a form it reads.
  std::string text;
  for (int i = 0; i < 400; ++i) text += "焚烧秸";
  httplib::Params form = {{"api_key", token},    {"service_code", "04001"},
                          {"lat", "34.518"},     {"long", "110.2444"},
                          {"description", text}, {"address_string", "太要村"}};
  std::string body = httplib::detail::params_to_query_str(form);
  REQUIRE(body.size() > 8192);
  auto posted = http.Post("/open311/v2/requests.json", body,
                          "application/x-www-form-urlencoded");
  REQUIRE(posted);
  REQUIRE_MESSAGE(posted->status == 201, posted->body);
  std::string id = json::parse(posted->body)[0]["service_request_id"];
  auto read = http.Get("/open311/v2/requests/" + id + ".json?api_key=" + token);
  REQUIRE(read);
  CHECK(json::parse(read->body)[0]["description"] == text);

  // A multipart form is refused with what to send instead, and the
  // connection goes on to the next request.
  httplib::Headers auth = {{"Authorization", "Bearer " + token}};
  httplib::MultipartFormDataItems parts = {{"category", "04001", "", ""},
                                           {"description", "焚烧", "", ""}};
  auto multipart = http.Post("/api/v1/reports", auth, parts);
  REQUIRE(multipart);
  CHECK(multipart->status == 415);
  CHECK(json::parse(multipart->body)["error"]["field"] == "Content-Type");
  auto after = http.Get("/api/v1/me", auth);
  REQUIRE(after);
  CHECK(after->status == 200);

  // Methods wangge has no handler for: a 404 that says which it answers.
  auto options = http.Options("/api/v1/reports");
  REQUIRE(options);
  CHECK(options->status == 404);
  CHECK(json::parse(options->body)["error"]["message"].get<std::string>().find(
            "GET, HEAD, POST") != std::string::npos);

  // A newline in a path cannot forge a line of the access log.
  auto forged = http.Get("/nothing%0Awangge_fake%20200");
  REQUIRE(forged);
  CHECK(forged->status == 404);
  s.server.Stop(SIGTERM);
  std::string logged = Slurp(s.log);
  CHECK(logged.find("/nothing%0Awangge_fake%20200 404") != std::string::npos);
  CHECK(logged.find("\nwangge_fake") == std::string::npos);
}
