// Open311 GeoReport v2 the way existing clients use it: both formats,
// form-encoded POSTs, jurisdiction_id, W3C dates, the error list, and XML
// that a real parser (xmllint) accepts.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "core/accounts.h"
#include "core/store.h"
#include "core/town.h"
#include "server/api.h"
#include "tests/server/api_fixture.h"

using namespace wangge;
using namespace wangge::server;
using nlohmann::json;
using wangge::testing::kPassword;
using wangge::testing::TempDir;

namespace {

// A point inside the sample town (the same one tests/tools uses).
constexpr const char* kLon = "110.2444";
constexpr const char* kLat = "34.518";

// Percent-encodes every byte outside A-Z a-z 0-9 -._~ ; `plus_for_space`
// as browsers do, otherwise %20 as curl --data-urlencode does.
std::string Encode(const std::string& s, bool plus_for_space) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += char(c);
    } else if (c == ' ' && plus_for_space) {
      out += '+';
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string Form(const std::vector<std::pair<std::string, std::string>>& kv,
                 bool plus_for_space = false) {
  std::string out;
  for (const auto& [k, v] : kv) {
    if (!out.empty()) out += '&';
    out += Encode(k, plus_for_space) + "=" + Encode(v, plus_for_space);
  }
  return out;
}

// Runs xmllint on `text`; with `xpath`, returns what it selects.
std::string XmlLint(const TempDir& dir, const std::string& text,
                    const std::string& xpath, int* status) {
  static int n = 0;
  std::string file = dir / ("doc" + std::to_string(++n) + ".xml");
  std::ofstream(file, std::ios::binary) << text;
  std::string cmd = "xmllint --noout '" + file + "' 2>&1";
  if (!xpath.empty()) {
    cmd = "xmllint --xpath '" + xpath + "' '" + file + "' 2>&1";
  }
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  while (size_t got = fread(buf, 1, sizeof buf, p)) out.append(buf, got);
  int raw = pclose(p);
  *status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  if (!xpath.empty() && out.ends_with('\n')) out.pop_back();
  return out;
}

// The shared in-process fixture, with Open311 calls.
struct Fixture : testing::Fixture {
  ApiResponse Get(const std::string& path,
                  std::map<std::string, std::string> query = {}) {
    return api->Handle(
        {"GET", path, query, {{"host", "town.example:8080"}}, "", "127.0.0.1"});
  }

  ApiResponse Post(const std::string& path, const std::string& form,
                   std::map<std::string, std::string> headers = {
                       {"content-type", "application/x-www-form-urlencoded"}}) {
    return api->Handle({"POST", path, {}, headers, form, "127.0.0.1"});
  }

  std::string Login(const std::string& user) {
    ApiResponse r =
        api->Handle({"POST",
                     "/api/v1/login",
                     {},
                     {},
                     json{{"username", user}, {"password", kPassword}}.dump(),
                     "127.0.0.1"});
    REQUIRE_MESSAGE(r.status == 200, r.body);
    return json::parse(r.body)["token"];
  }

  // Checks that `r` is well-formed XML and returns what `xpath` selects.
  std::string XPath(const ApiResponse& r, const std::string& xpath) {
    int status = -1;
    std::string out = XmlLint(dir, r.body, xpath, &status);
    REQUIRE_MESSAGE(status == 0, (out + "\n" + r.body));
    return out;
  }

  // A new case through Open311; returns its service_request_id.
  std::string Report(const std::string& token, const std::string& text,
                     const std::string& code = "04001") {
    ApiResponse r =
        Post("/open311/v2/requests.json", Form({{"api_key", token},
                                                {"service_code", code},
                                                {"lat", kLat},
                                                {"long", kLon},
                                                {"description", text}}));
    REQUIRE_MESSAGE(r.status == 201, r.body);
    return json::parse(r.body)[0]["service_request_id"];
  }
};

// The error list of a JSON answer: its descriptions, after checking shape.
std::vector<std::string> JsonErrors(const ApiResponse& r, int status) {
  CHECK(r.status == status);
  json j = json::parse(r.body);
  REQUIRE_MESSAGE(j.is_array(), r.body);
  REQUIRE_MESSAGE(!j.empty(), r.body);
  std::vector<std::string> out;
  for (const auto& e : j) {
    CHECK(e["code"] == status);
    out.push_back(e["description"]);
  }
  return out;
}

bool Mentions(const std::vector<std::string>& list, const std::string& word) {
  for (const auto& s : list) {
    if (s.find(word) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("Open311: discovery in JSON and XML") {
  Fixture f;
  ApiResponse j = f.Get("/open311/v2/discovery.json");
  REQUIRE(j.status == 200);
  json d = json::parse(j.body);
  CHECK(d["endpoints"][0]["url"] == "http://town.example:8080/open311/v2");
  CHECK(d["endpoints"][0]["specification"] ==
        "http://wiki.open311.org/GeoReport_v2");
  CHECK(d["endpoints"][0]["formats"].size() == 2);
  ApiResponse x = f.Get("/open311/v2/discovery.xml");
  REQUIRE(x.status == 200);
  CHECK(x.content_type.starts_with("text/xml"));
  CHECK(f.XPath(x, "string(/discovery/endpoints/endpoint/formats/format[2])") ==
        "text/xml");
  CHECK(f.Get("/open311/discovery.json").status == 200);
}

TEST_CASE(
    "Open311: discovery names --public-url, or the Host asked for only if it "
    "is a host name") {
  Fixture f;
  auto with_host = [&](std::map<std::string, std::string> headers) {
    return f.api->Handle(
        {"GET", "/open311/v2/discovery.json", {}, headers, "", "127.0.0.1"});
  };
  auto url = [](const ApiResponse& r) {
    return json::parse(r.body)["endpoints"][0]["url"].get<std::string>();
  };
  for (std::string host : {"[::1]:8080", "10.0.0.5", "wangge-tg.local:65535"}) {
    ApiResponse r = with_host({{"host", host}});
    REQUIRE_MESSAGE(r.status == 200, host);
    CHECK(url(r) == "http://" + host + "/open311/v2");
  }
  // A Host that would carry a path, markup or a bad port elsewhere.
  for (std::string host :
       {"evil.example/phish?x=", "a b", "x\"><script>", "town:0", "town:65536",
        "town:080", "town:80x", "", "[::1", "[]:80", ".town", "town:"}) {
    ApiResponse r = with_host({{"host", host}});
    CHECK_MESSAGE(r.status == 400, host);
    CHECK(r.body.find("--public-url") != std::string::npos);
  }
  CHECK(with_host({}).status == 400);

  auto proxied =
      Api::Open({.db_path = f.db,
                 .public_url = "https://wangge.example.gov.cn/tongguan"});
  REQUIRE(proxied);
  ApiResponse r = (*proxied)->Handle({"GET",
                                      "/open311/v2/discovery.json",
                                      {},
                                      {{"host", "127.0.0.1:8080"}},
                                      "",
                                      "127.0.0.1"});
  REQUIRE(r.status == 200);
  CHECK(url(r) == "https://wangge.example.gov.cn/tongguan/open311/v2");
  for (std::string bad :
       {"ftp://wangge.example.gov.cn", "https://wangge.example.gov.cn/",
        "https://wangge.example.gov.cn?a=1", "https://",
        "wangge.example.gov.cn", "https://wangge.example.gov.cn/a b"}) {
    auto refused = Api::Open({.db_path = f.db, .public_url = bad});
    REQUIRE_MESSAGE(!refused, bad);
    CHECK(refused.error().message.find("public URL") != std::string::npos);
  }
}

TEST_CASE("Open311: the categories are the services, in both formats") {
  Fixture f;
  ApiResponse j = f.Get("/open311/v2/services.json");
  REQUIRE(j.status == 200);
  json list = json::parse(j.body);
  REQUIRE(list.size() > 10);
  json burning;
  for (const auto& s : list) {
    CHECK(s["metadata"] == false);
    CHECK(s["type"] == "realtime");
    CHECK(s["service_code"].get<std::string>().size() == 5);
    if (s["service_code"] == "04001") burning = s;
  }
  REQUIRE(!burning.is_null());
  CHECK(burning["service_name"] == "露天焚烧");
  CHECK(!burning["group"].get<std::string>().empty());
  CHECK(burning["keywords"].get<std::string>().find("露天焚烧") !=
        std::string::npos);

  ApiResponse x = f.Get("/open311/v2/services.xml");
  REQUIRE(x.status == 200);
  CHECK(f.XPath(x, "count(/services/service)") == std::to_string(list.size()));
  CHECK(f.XPath(x, "string(//service[service_code=\"04001\"]/service_name)") ==
        "露天焚烧");
  CHECK(f.XPath(x, "string(//service[service_code=\"04001\"]/metadata)") ==
        "false");

  ApiResponse def = f.Get("/open311/v2/services/04001.json");
  REQUIRE(def.status == 200);
  CHECK(json::parse(def.body)["service_code"] == "04001");
  CHECK(json::parse(def.body)["attributes"].empty());
  ApiResponse defx = f.Get("/open311/v2/services/04001.xml");
  REQUIRE(defx.status == 200);
  CHECK(f.XPath(defx, "string(/service_definition/service_code)") == "04001");

  CHECK(Mentions(JsonErrors(f.Get("/open311/v2/services/99999.json"), 404),
                 "99999"));
  ApiResponse missing = f.Get("/open311/v2/services/99999.xml");
  CHECK(missing.status == 404);
  CHECK(f.XPath(missing, "string(/errors/error/code)") == "404");
}

TEST_CASE(
    "Open311: a form POST with Chinese text makes one case, retries none") {
  Fixture f;
  std::string token = f.Login("p0021");  // the dispatcher
  std::string text = "村口有人焚烧秸秆, 烟很大 & \"急\" 100% <速来>";
  for (bool plus : {false, true}) {
    CAPTURE(plus);
    std::string form = Form({{"api_key", token},
                             {"jurisdiction_id", "610522102"},
                             {"service_code", "04001"},
                             {"lat", kLat},
                             {"long", kLon},
                             {"address_string", "太要村 东口"},
                             {"email", "someone@example.com"},
                             {"first_name", "张"},
                             {"media_url", "http://example.com/p.jpg"},
                             {"description", text + (plus ? " (浏览器)" : "")}},
                            plus);
    ApiResponse r = f.Post("/open311/v2/requests.json", form);
    REQUIRE_MESSAGE(r.status == 201, r.body);
    json created = json::parse(r.body);
    REQUIRE(created.size() == 1);
    std::string id = created[0]["service_request_id"];
    CHECK(std::regex_match(id, std::regex(R"(TY-20261126-\d{4})")));
    CHECK(created[0]["account_id"] != "");
    CHECK(created[0]["service_notice"].get<std::string>().find(id) !=
          std::string::npos);

    // The same form again (a client retrying): the same case, status 200.
    ApiResponse again = f.Post("/open311/v2/requests.json", form);
    CHECK(again.status == 200);
    CHECK(json::parse(again.body)[0]["service_request_id"] == id);

    // Read it back with the key: the text decoded exactly.
    ApiResponse read =
        f.Get("/open311/v2/requests/" + id + ".json", {{"api_key", token}});
    REQUIRE_MESSAGE(read.status == 200, read.body);
    json req = json::parse(read.body)[0];
    CHECK(req["description"] == text + (plus ? " (浏览器)" : ""));
    CHECK(req["address"] == "太要村 东口");
    CHECK(req["service_code"] == "04001");
    CHECK(req["service_name"] == "露天焚烧");
    CHECK(req["status"] == "open");
    CHECK(req["lat"].get<double>() == doctest::Approx(34.518));
    CHECK(req["long"].get<double>() == doctest::Approx(110.2444));
    // W3C dates that parse back to the time of the report.
    std::string requested = req["requested_datetime"];
    CHECK(std::regex_match(
        requested,
        std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d)")));
    CHECK(*core::ParseTime(requested) == f.now);
    CHECK(*core::ParseTime(req["updated_datetime"]) == f.now);
    CHECK(*core::ParseTime(req["expected_datetime"]) > f.now);
    for (const char* field :
         {"service_request_id", "status", "status_notes", "service_name",
          "service_code", "description", "agency_responsible", "service_notice",
          "requested_datetime", "updated_datetime", "expected_datetime",
          "address", "address_id", "zipcode", "lat", "long", "media_url"}) {
      CHECK_MESSAGE(req.contains(field), field);
    }
  }
  // Exactly two cases: the retries made none.
  ApiResponse all = f.Get("/open311/v2/requests.json", {{"api_key", token}});
  CHECK(json::parse(all.body).size() == 2);

  // An Idempotency-Key header decides instead of the form.
  std::string form = Form({{"api_key", token},
                           {"service_code", "04001"},
                           {"lat", kLat},
                           {"long", kLon},
                           {"description", "另一处焚烧"}});
  std::map<std::string, std::string> headers = {
      {"content-type", "application/x-www-form-urlencoded; charset=UTF-8"},
      {"idempotency-key", "client-key-1"}};
  ApiResponse first = f.Post("/open311/v2/requests.xml", form, headers);
  REQUIRE_MESSAGE(first.status == 201, first.body);
  std::string id =
      f.XPath(first, "string(/service_requests/request/service_request_id)");
  CHECK(id.starts_with("TY-"));
  // Ignored fields do not count; a different report with the key does.
  CHECK(f.Post("/open311/v2/requests.xml", form + "&first_name=x", headers)
            .status == 200);
  ApiResponse reused =
      f.Post("/open311/v2/requests.xml", form + "%E4%BA%86", headers);
  CHECK(reused.status == 409);
  CHECK(f.XPath(reused, "string(/errors/error/code)") == "409");
}

TEST_CASE("Open311: the error list names what to fix, in both formats") {
  Fixture f;
  std::string token = f.Login("p0021");
  auto post = [&](const std::string& format,
                  std::vector<std::pair<std::string, std::string>> kv) {
    return f.Post("/open311/v2/requests." + format, Form(kv));
  };
  SUBCASE("missing service_code") {
    auto e = JsonErrors(post("json", {{"api_key", token},
                                      {"lat", kLat},
                                      {"long", kLon},
                                      {"description", "x"}}),
                        400);
    CHECK(Mentions(e, "service_code is required"));
  }
  SUBCASE("unknown service") {
    ApiResponse r = post("xml", {{"api_key", token},
                                 {"service_code", "99999"},
                                 {"lat", kLat},
                                 {"long", kLon},
                                 {"description", "x"}});
    CHECK(r.status == 400);
    CHECK(f.XPath(r, "string(/errors/error/code)") == "400");
    CHECK(f.XPath(r, "string(/errors/error/description)").find("99999") !=
          std::string::npos);
  }
  SUBCASE("bad and missing api_key") {
    auto e = JsonErrors(post("json", {{"api_key", "not-a-token"},
                                      {"service_code", "04001"},
                                      {"lat", kLat},
                                      {"long", kLon},
                                      {"description", "x"}}),
                        403);
    CHECK(Mentions(e, "api_key"));
    CHECK(Mentions(JsonErrors(post("json", {{"service_code", "04001"}}), 403),
                   "api_key is required"));
    // A bad key on a read is refused too, not silently anonymous.
    ApiResponse r =
        f.Get("/open311/v2/requests.xml", {{"api_key", "not-a-token"}});
    CHECK(r.status == 403);
    CHECK(f.XPath(r, "string(/errors/error/code)") == "403");
  }
  SUBCASE("bad lat, missing long and description: all listed at once") {
    auto e = JsonErrors(
        post("json",
             {{"api_key", token}, {"service_code", "04001"}, {"lat", "91"}}),
        400);
    CHECK(e.size() == 3);
    CHECK(Mentions(e, "lat must be a WGS84 latitude"));
    CHECK(Mentions(e, "lat and long are required"));
    CHECK(Mentions(e, "description is required"));
    CHECK(Mentions(JsonErrors(post("json", {{"api_key", token},
                                            {"service_code", "04001"},
                                            {"lat", "abc"},
                                            {"long", kLon},
                                            {"description", "x"}}),
                              400),
                   "got abc"));
  }
  SUBCASE("jurisdiction_id: the town's code or name, nothing else") {
    for (const char* ok : {"610522102", "太要镇"}) {
      CHECK(f.Get("/open311/v2/services.json", {{"jurisdiction_id", ok}})
                .status == 200);
    }
    CHECK(Mentions(JsonErrors(f.Get("/open311/v2/services.json",
                                    {{"jurisdiction_id", "boston.gov"}}),
                              404),
                   "610522102"));
    CHECK(Mentions(JsonErrors(post("json", {{"api_key", token},
                                            {"jurisdiction_id", "boston.gov"},
                                            {"service_code", "04001"},
                                            {"lat", kLat},
                                            {"long", kLon},
                                            {"description", "x"}}),
                              404),
                   "boston.gov"));
  }
  SUBCASE("broken encoding, wrong content type, unknown endpoint, method") {
    CHECK(Mentions(
        JsonErrors(f.Post("/open311/v2/requests.json",
                          "api_key=" + token + "&description=%E6%9D%91%FF"),
                   400),
        "description"));
    CHECK(Mentions(JsonErrors(f.Post("/open311/v2/requests.json", "{}",
                                     {{"content-type", "application/json"}}),
                              400),
                   "x-www-form-urlencoded"));
    CHECK(JsonErrors(f.Get("/open311/v2/nothing.json"), 404).size() == 1);
    CHECK(JsonErrors(f.Get("/open311/v2/requests"), 404).size() == 1);
    CHECK(JsonErrors(f.Post("/open311/v2/services.json", ""), 405).size() == 1);
    CHECK(Mentions(JsonErrors(f.Get("/open311/v2/requests.json",
                                    {{"start_date", "yesterday"}}),
                              400),
                   "W3C"));
    CHECK(JsonErrors(f.Get("/open311/v2/requests.json", {{"status", "done"}}),
                     400)
              .size() == 1);
  }
}

TEST_CASE(
    "Open311: request lists filter by id, service, status and W3C dates") {
  Fixture f;
  std::string token = f.Login("p0021");
  std::string a = f.Report(token, "焚烧秸秆");
  f.now += std::chrono::hours(24);
  token = f.Login("p0021");  // tokens last 12 hours
  std::string b = f.Report(token, "邻里纠纷", "01001");
  f.now += std::chrono::hours(24);
  token = f.Login("p0021");
  std::string c = f.Report(token, "又在焚烧");
  auto ids = [&](std::map<std::string, std::string> query) {
    query["api_key"] = token;
    ApiResponse r = f.Get("/open311/v2/requests.json", query);
    REQUIRE_MESSAGE(r.status == 200, r.body);
    std::set<std::string> out;
    for (const auto& x : json::parse(r.body))
      out.insert(x["service_request_id"]);
    return out;
  };
  CHECK(ids({}) == std::set{a, b, c});
  CHECK(ids({{"service_request_id", a + "," + c + ",TY-20990101-0001"}}) ==
        std::set{a, c});
  CHECK(ids({{"service_code", "04001"}}) == std::set{a, c});
  CHECK(ids({{"service_code", "04001,01001"}}) == std::set{a, b, c});
  CHECK(ids({{"status", "open"}}) == std::set{a, b, c});
  CHECK(ids({{"status", "closed"}}).empty());
  // The second case was received 2026-11-27T10:00+08:00 = 02:00Z.
  CHECK(ids({{"start_date", "2026-11-27T02:00:00Z"}}) == std::set{b, c});
  CHECK(ids({{"start_date", "2026-11-27T10:00:01+08:00"}}) == std::set{c});
  CHECK(ids({{"end_date", "2026-11-27T10:00:00+08:00"}}) == std::set{a, b});
  CHECK(ids({{"start_date", "2026-11-27"},
             {"end_date", "2026-11-27T23:59:59"}}) == std::set{b});
  CHECK(ids({{"start_date", "2026-11-26T00:00:00.000+08:00"},
             {"end_date", "2026-11-26T23:59:59.999+08:00"}}) == std::set{a});
  // Older than 90 days drops out of the default window.
  f.now += std::chrono::days(120);
  token = f.Login("p0021");
  CHECK(ids({}).empty());
  CHECK(ids({{"start_date", "2026-11-01"}}) == std::set{a, b, c});

  // XML list: one <request> each, dates in W3C.
  ApiResponse x = f.Get("/open311/v2/requests.xml",
                        {{"api_key", token}, {"start_date", "2026-11-01"}});
  REQUIRE(x.status == 200);
  CHECK(f.XPath(x, "count(/service_requests/request)") == "3");
  std::string when = f.XPath(x, "string(//request[service_request_id=\"" + a +
                                    "\"]/requested_datetime)");
  CHECK(*core::ParseTime(when) == *core::ParseTime("2026-11-26T10:00"));
  ApiResponse one =
      f.Get("/open311/v2/requests/" + b + ".xml", {{"api_key", token}});
  REQUIRE(one.status == 200);
  CHECK(f.XPath(one, "string(/service_requests/request/service_code)") ==
        "01001");
  ApiResponse none = f.Get("/open311/v2/requests/TY-20990101-0001.xml");
  CHECK(none.status == 404);
  CHECK(f.XPath(none, "string(/errors/error/code)") == "404");
}

TEST_CASE(
    "Open311: anonymous reads show public fields, api_key reads the scope") {
  Fixture f;
  std::string token = f.Login("p0021");
  std::string id = f.Report(token, "某某家门口堆放垃圾");
  ApiResponse anon = f.Get("/open311/v2/requests/" + id + ".json");
  REQUIRE(anon.status == 200);
  json pub = json::parse(anon.body)[0];
  CHECK(pub["service_request_id"] == id);
  CHECK(pub["description"] == "");
  CHECK(anon.body.find("某某") == std::string::npos);
  CHECK(anon.body.find("reporter") == std::string::npos);
  CHECK(anon.body.find("account") == std::string::npos);
  CHECK(json::parse(f.Get("/open311/v2/requests.json").body).size() == 1);
  // A grid leader of a cell elsewhere does not see the dispatcher's case.
  std::string other = f.Login("p0100");
  ApiResponse scoped =
      f.Get("/open311/v2/requests/" + id + ".json", {{"api_key", other}});
  CHECK(scoped.status == 404);
  CHECK(
      json::parse(f.Get("/open311/v2/requests.json", {{"api_key", other}}).body)
          .empty());
}

TEST_CASE(
    "Open311: XML stays well-formed with markup, control characters and bytes "
    "that are not UTF-8") {
  Fixture f;
  std::string token = f.Login("p0021");
  std::string text = "a < b && c > \"d\" 'e' ]]> <!-- x --> 焚烧";
  std::string id = f.Report(token, text);
  // Intake refuses control characters and U+FFFF (below); a case stored
  // before it did, or edited in the database, may still hold them.
  REQUIRE(std::system(("sqlite3 " + f.db +
                       " \"UPDATE cases SET description = description || "
                       "char(1, 31, 65535) || CAST(x'FF' AS TEXT)\"")
                          .c_str()) == 0);
  ApiResponse x =
      f.Get("/open311/v2/requests/" + id + ".xml", {{"api_key", token}});
  REQUIRE(x.status == 200);
  std::string back =
      f.XPath(x, "string(/service_requests/request/description)");
  // What XML 1.0 cannot carry becomes U+FFFD; the rest survives.
  std::string replaced = "\xEF\xBF\xBD";
  CHECK(back == text + replaced + replaced + replaced + replaced);
  ApiResponse j =
      f.Get("/open311/v2/requests/" + id + ".json", {{"api_key", token}});
  REQUIRE(j.status == 200);
  CHECK(json::parse(j.body)[0]["description"] ==
        text + "\x01\x1f\xEF\xBF\xBF" + replaced);

  for (std::string bad :
       {std::string("焚烧\x01秸秆"), std::string("焚烧\xEF\xBF\xBF")}) {
    ApiResponse r =
        f.Post("/open311/v2/requests.json", Form({{"api_key", token},
                                                  {"service_code", "04001"},
                                                  {"lat", kLat},
                                                  {"long", kLon},
                                                  {"description", bad}}));
    auto errors = JsonErrors(r, 400);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].find("description") != std::string::npos);
  }
}
