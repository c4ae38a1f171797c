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

TEST_CASE(
    "wangge serve: Open311 form POST by curl, read back in JSON and XML") {
  TempDir dir;
  std::string db = InitDb(dir);
  REQUIRE(
      Wangge("user passwd --db " + Q(db) + " --username p0021 --password-stdin",
             "a-long-password\n")
          .status == 0);
  ServeProcess server(db, dir / "log", 2);
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());

  httplib::Client http("127.0.0.1", server.port());
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
