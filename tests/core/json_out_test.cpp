#include "core/json_out.h"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/accounts.h"
#include "core/intake.h"

namespace wangge::core {
namespace {

using nlohmann::ordered_json;

// The text nlohmann would write for the same value, key order kept.
std::string Redumped(const std::string& text) {
  return ordered_json::parse(text).dump();
}

TEST_CASE("JsonOut places commas and colons in nested values") {
  JsonOut w;
  w.BeginObject().Key("a").Int(1).Key("b").BeginArray();
  w.Int(2).BeginObject().EndObject().BeginArray().EndArray().Null();
  w.EndArray().Key("c").BeginObject().Key("d").Bool(false).EndObject();
  w.Key("e").StringOrNull("").Key("f").StringOrNull("x");
  w.Key("g").Raw("[1,2]").EndObject();
  CHECK(
      std::move(w).Take() ==
      R"({"a":1,"b":[2,{},[],null],"c":{"d":false},"e":null,"f":"x","g":[1,2]})");
}

TEST_CASE("JsonOut escapes strings as nlohmann does and keeps UTF-8") {
  std::string text = "村口\"焚烧\"\\秸秆\n\t\r\b\f\x01\x1f\x7f end";
  JsonOut w;
  w.BeginArray().String(text).EndArray();
  std::string out = std::move(w).Take();
  CHECK(out == ordered_json::array({text}).dump());
  CHECK(out.find("\\u0001") != std::string::npos);
  CHECK(ordered_json::parse(out)[0] == text);
}

TEST_CASE("JsonOut escapes every position of a word as nlohmann does") {
  // Strings are scanned eight bytes at a time: put each kind of byte that
  // needs escaping, and each that does not, at every offset and length.
  const std::string pieces[] = {"\"",   "\\", "\n",   std::string(1, '\0'),
                                "\x1f", " ",  "\x7f", "a",
                                "村",   "（"};
  for (const auto& piece : pieces) {
    for (size_t before = 0; before < 18; ++before) {
      for (size_t after : {size_t(0), size_t(1), size_t(7), size_t(9)}) {
        std::string text = std::string(before, 'x') + piece;
        for (size_t k = 0; k < after; ++k) text += "网";
        JsonOut w;
        w.String(text);
        CAPTURE(text);
        CHECK(std::move(w).Take() == nlohmann::json(text).dump());
      }
    }
  }
}

TEST_CASE("JsonOut writes doubles that read back exactly") {
  for (double v : {15.0, 110.2779452, 34.5072624, 0.1, 0.30000000000000004,
                   -0.5, 123.4, 0.0, 1e-7, 2.5e15, -180.0}) {
    JsonOut w;
    w.BeginArray().Double(v).EndArray();
    std::string out = std::move(w).Take();
    CAPTURE(out);
    CHECK(ordered_json::parse(out)[0].get<double>() == v);
    CHECK(ordered_json::parse(out)[0].is_number_float());
  }
  JsonOut w;
  w.BeginArray().Double(15).Double(110.2779452).Double(NAN);
  w.Double(std::numeric_limits<double>::infinity()).EndArray();
  CHECK(std::move(w).Take() == "[15.0,110.2779452,null,null]");
  JsonOut i;
  i.BeginArray()
      .Int(std::numeric_limits<int64_t>::min())
      .UInt(18446744073709551615u);
  i.EndArray();
  CHECK(std::move(i).Take() == "[-9223372036854775808,18446744073709551615]");
}

CaseRecord OutsideCase() {
  CaseRecord c;
  c.id = 42;
  c.number = "TY-20261130-0007";
  c.status = "dispatched";
  c.category = "04001";
  c.description = "邻里\"纠纷\"\n第二行\x02";
  c.address = "";
  c.lon = 110.2779452;
  c.lat = 34.5072624;
  c.accuracy_m = 15;
  c.reported_at = "2026-11-30T10:00:00+08:00";
  c.received_at = "2026-11-30T10:00:05+08:00";
  c.reporter = 3;
  c.outside = true;
  c.boundary_version = 2;
  c.accept_by = "2026-11-30T12:00:05+08:00";
  c.handle_by = "2026-12-02T10:00:05+08:00";
  c.level = "镇";
  c.assignment =
      R"({"category_name":"邻里纠纷","kind":"event","lead":"branch","branch":{"code":"B01","name":"一支部"},"offices":[{"code":"zz","name":"综治","role":"lead"}],"reasons":["网格外"],"warnings":[],"nearest_cell":"C007","distance_m":123.4,"zones":["Z1","Z2"]})";
  c.version = 3;
  c.assignee = 9;
  c.co_offices = R"([{"code":"sf","name":"司法所"}])";
  c.extension_hours = 24;
  c.duplicate_of = 0;
  return c;
}

TEST_CASE("CaseJson: the case's fields, placement and assignment") {
  CaseRecord c = OutsideCase();
  std::vector<CaseEvent> events = {{.case_id = 42,
                                    .seq = 1,
                                    .actor = 3,
                                    .at = c.received_at,
                                    .to = "reported",
                                    .note = "上报 reported",
                                    .action = "report",
                                    .details = R"({"level":"镇"})",
                                    .hash = "h1"},
                                   {.case_id = 42,
                                    .seq = 2,
                                    .actor = 5,
                                    .at = c.received_at,
                                    .from = "reported",
                                    .to = "dispatched",
                                    .note = "",
                                    .action = "dispatch",
                                    .details = "not json",
                                    .hash = "h2"}};
  std::string text = CaseJson(c, &events);
  CAPTURE(text);
  // Byte for byte what nlohmann::ordered_json::dump writes for it.
  CHECK(Redumped(text) == text);
  auto j = ordered_json::parse(text);
  CHECK(j["id"] == 42);
  CHECK(j["description"] == c.description);
  CHECK(j["accuracy_m"] == 15.0);
  CHECK(
      j["placement"] ==
      ordered_json::parse(
          R"({"inside":false,"cell":null,"village":null,"zones":["Z1","Z2"],"boundary_version":2,"nearest_cell":"C007","distance_m":123.4})"));
  CHECK(
      j["assignment"].dump() ==
      R"({"category_name":"邻里纠纷","kind":"event","lead":"branch","branch":{"code":"B01","name":"一支部"},"offices":[{"code":"zz","name":"综治","role":"lead"}],"reasons":["网格外"],"warnings":[],"accept_by":"2026-11-30T12:00:05+08:00","handle_by":"2026-12-02T10:00:05+08:00","level":"镇"})");
  CHECK(j["assignee"] == ordered_json{{"id", 9}});
  CHECK(j["evaluation"].is_null());
  CHECK(j["co_offices"][0]["code"] == "sf");
  CHECK(j["extension_hours"] == 24.0);
  CHECK(j["duplicate_of"].is_null());
  REQUIRE(j["events"].size() == 2);
  CHECK(j["events"][0]["from"].is_null());
  CHECK(j["events"][0]["details"] == ordered_json{{"level", "镇"}});
  CHECK(j["events"][1]["from"] == "reported");
  CHECK(j["events"][1]["details"] == ordered_json::object());
}

TEST_CASE("CaseJson: a case inside, with damaged stored JSON") {
  CaseRecord c = OutsideCase();
  c.outside = false;
  c.cell = "610522100200001";
  c.village = "610522100200";
  c.accuracy_m = -1;
  c.assignee = 0;
  c.duplicate_of = 41;
  c.evaluation = "满意";
  c.co_offices = "{broken";
  c.assignment = "also broken";
  std::string text = CaseJson(c);
  CAPTURE(text);
  CHECK(Redumped(text) == text);
  auto j = ordered_json::parse(text);
  CHECK(j["accuracy_m"].is_null());
  CHECK(
      j["placement"].dump() ==
      R"({"inside":true,"cell":"610522100200001","village":"610522100200","zones":[],"boundary_version":2})");
  CHECK(
      j["assignment"].dump() ==
      R"({"accept_by":"2026-11-30T12:00:05+08:00","handle_by":"2026-12-02T10:00:05+08:00","level":"镇"})");
  CHECK(j["assignee"].is_null());
  CHECK(j["duplicate_of"] == 41);
  CHECK(j["evaluation"] == "满意");
  CHECK(j["co_offices"] == ordered_json::array());
  CHECK_FALSE(j.contains("events"));
}

TEST_CASE("IntakeJson: the case and its possible duplicates") {
  IntakeResult in{.record = OutsideCase(),
                  .possible_duplicates = {{.id = 40,
                                           .number = "TY-20261130-0005",
                                           .distance_m = 12.5,
                                           .status = "reported"}}};
  std::string text = IntakeJson(in);
  CAPTURE(text);
  CHECK(Redumped(text) == text);
  auto j = ordered_json::parse(text);
  CHECK(j["number"] == "TY-20261130-0007");
  CHECK(
      j["possible_duplicates"].dump() ==
      R"([{"id":40,"number":"TY-20261130-0005","distance_m":12.5,"status":"reported"}])");
  in.possible_duplicates.clear();
  CHECK(ordered_json::parse(IntakeJson(in))["possible_duplicates"] ==
        ordered_json::array());
}

TEST_CASE("RequestHash: the digest of nlohmann's dump of the report") {
  // Stored with every case: a retry after an upgrade must hash the same.
  auto reference = [](const ReportInput& r) {
    nlohmann::json j = {{"category", r.category},
                        {"description", r.description},
                        {"address", r.address},
                        {"lon", *r.lon},
                        {"lat", *r.lat},
                        {"accuracy_m", r.accuracy_m.value_or(-1)},
                        {"reported_at", r.reported_at}};
    return Digest(j.dump());
  };
  ReportInput r{.category = "01001",
                .description = "村口有人焚烧秸秆（第1条）",
                .lon = 110.2846291,
                .lat = 34.5270139};
  CHECK(RequestHash(r) == reference(r));
  // Pinned: what session 10's server stored for this report (POSTed to it).
  CHECK(RequestHash(r) ==
        "76bc19883c40cafc05d7c24d83df94d1368161c056eb76f9618872cb90b700fd");
  const double numbers[] = {15.0,      0.0,    -0.0,  1e-7,   1e21,
                            0.1 + 0.2, -180.0, 1e300, 5e-324, 123456789.125};
  for (double v : numbers) {
    r.lon = v;
    r.lat = -v;
    r.accuracy_m = v;
    CAPTURE(v);
    CHECK(RequestHash(r) == reference(r));
  }
  r.address = "渠边\"西\"\\2号\n\t";
  r.reported_at = "2026-10-08T09:30:00+08:00";
  r.description = std::string("控制字符\x01\x7f");
  CHECK(RequestHash(r) == reference(r));
  r.description = "x";
  r.accuracy_m.reset();
  CHECK(RequestHash(r) == reference(r));
  // Not UTF-8: nlohmann's path, which refuses (as before).
  r.description = "\xff";
  CHECK_THROWS(RequestHash(r));
}

}  // namespace
}  // namespace wangge::core
