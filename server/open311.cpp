// Open311 GeoReport v2 under /open311/v2/: the town's categories as
// services, cases as service requests, in JSON and XML.
//
// Mapping: service_code = category code, service_request_id = case number,
// status = open | closed (closed and rejected cases are closed),
// requested_datetime = when the server received the report,
// expected_datetime = the handling deadline of an open case,
// agency_responsible = the lead office. Dates are W3C with the town's
// offset (+08:00). Reads without api_key see every case but only public
// fields (no description, no reporter); with api_key, the account's scope.

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string_view>

#include "base/code.h"
#include "base/utf8.h"
#include "core/accounts.h"
#include "core/intake.h"
#include "server/api_internal.h"

namespace wangge::server::internal {
namespace {

using nlohmann::ordered_json;

enum class Format { kJson, kXml };

constexpr int64_t kMaxResults = 1000;  // GeoReport v2's default maximum
constexpr int64_t kPage = 500;
constexpr size_t kMaxForm = 1 << 20;
constexpr const char* kSpec = "http://wiki.open311.org/GeoReport_v2";

// --- form bodies -----------------------------------------------------------

bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    size_t n = c < 0x80                 ? 0
               : c >= 0xC2 && c <= 0xDF ? 1
               : c >= 0xE0 && c <= 0xEF ? 2
               : c >= 0xF0 && c <= 0xF4 ? 3
                                        : 9;
    if (n == 9 || i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    unsigned char c1 = n > 0 ? s[i + 1] : 0;
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) ||
        (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded: '+' is a space, %XX a byte.
std::optional<std::string> FormDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += char(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// The fields of a form body; the first of repeated names wins. Errors name
// the field whose encoding is broken.
Result<std::map<std::string, std::string>> ParseForm(std::string_view body) {
  std::map<std::string, std::string> out;
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? "" : body.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto name = FormDecode(pair.substr(0, eq));
    auto value = FormDecode(eq == std::string_view::npos ? std::string_view()
                                                         : pair.substr(eq + 1));
    std::string field = name ? *name : std::string(pair.substr(0, eq));
    if (!name || !value || !ValidUtf8(*name) || !ValidUtf8(*value)) {
      if (!ValidUtf8(field)) field = "?";
      return Fail(ErrorCode::kInvalidArgument,
                  "form field `" + field +
                      "` is not valid percent-encoded UTF-8; encode the form "
                      "as application/x-www-form-urlencoded in UTF-8",
                  field);
    }
    out.emplace(std::move(*name), std::move(*value));
  }
  return out;
}

// --- rendering ---------------------------------------------------------------

// Text as XML character data: markup escaped; characters XML 1.0 forbids
// (controls other than tab and newlines, U+FFFE, U+FFFF) and bytes that are
// not UTF-8 replaced by U+FFFD.
std::string XmlText(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    size_t len;
    long cp = DecodeUtf8(s, i, len);
    switch (cp) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // What XML 1.0 may not hold, and bytes that are not UTF-8.
        if (!IsXmlChar(cp)) {
          out += "\xEF\xBF\xBD";
        } else {
          out.append(s, i, len);
        }
    }
    i += len;
  }
  return out;
}

// The element name of the items of an array named `list`.
std::string ItemName(const std::string& list) {
  if (list == "endpoints") return "endpoint";
  if (list == "formats") return "format";
  if (list == "attributes") return "attribute";
  if (list == "values") return "value";
  if (list == "services") return "service";
  if (list == "errors") return "error";
  return "request";
}

void AppendXml(std::string& out, const std::string& name,
               const ordered_json& j) {
  out += "<" + name + ">";
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) AppendXml(out, key, value);
  } else if (j.is_array()) {
    for (const auto& item : j) AppendXml(out, ItemName(name), item);
  } else if (j.is_string()) {
    out += XmlText(j.get<std::string>());
  } else if (!j.is_null()) {
    out += j.dump();
  }
  out += "</" + name + ">";
}

ApiResponse Render(Format format, int status, const ordered_json& body,
                   const std::string& root) {
  ApiResponse r;
  r.status = status;
  if (format == Format::kJson) {
    r.body = Dump(body);
    return r;
  }
  r.content_type = "text/xml; charset=utf-8";
  r.body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";
  AppendXml(r.body, root, body);
  r.body += "\n";
  return r;
}

// Open311's error list: [{"code": status, "description": ...}].
ApiResponse Errors(Format format, int status,
                   const std::vector<std::string>& descriptions) {
  ordered_json list = ordered_json::array();
  for (const auto& d : descriptions) {
    list.push_back({{"code", status}, {"description", d}});
  }
  return Render(format, status, list, "errors");
}

ApiResponse ErrorOf(Format format, const Error& e) {
  std::string text = e.message;
  if (!e.field.empty() && text.find(e.field) == std::string::npos) {
    text = e.field + ": " + text;
  }
  return Errors(format, StatusOf(e.code), {text});
}

// --- the model -------------------------------------------------------------

bool IsClosed(const std::string& status) {
  return status == "closed" || status == "rejected";
}

std::string OfficeName(const core::TownConfig& config,
                       const std::string& code) {
  auto it = config.offices.find(code);
  return it == config.offices.end() ? code : it->second.name;
}

ordered_json ServiceJson(const core::TownConfig& config,
                         const core::Category& cat) {
  std::string office = OfficeName(config, cat.office);
  auto o = config.offices.find(cat.office);
  std::string office_en =
      o == config.offices.end() ? cat.office : o->second.name_en;
  return {{"service_code", cat.code},
          {"service_name", cat.name},
          {"description", cat.parent_name + " / " + cat.name + "：由" + office +
                              "处理 (handled by " + office_en + ")"},
          {"metadata", false},
          {"type", "realtime"},
          {"keywords", cat.parent_name + ", " + cat.name + ", " + office},
          {"group", cat.parent_name}};
}

std::string StatusNote(const std::string& status) {
  static const std::map<std::string, std::string> kNotes = {
      {"reported", "已上报，待受理 reported, waiting to be accepted"},
      {"accepted", "已受理 accepted"},
      {"dispatched", "已派遣 dispatched"},
      {"in_progress", "处置中 in progress"},
      {"handled", "已处置，待核查 handled, to be verified"},
      {"verifying", "核查中 being verified"},
      {"closed", "已结案 closed"},
      {"rejected", "不予受理 rejected"}};
  auto it = kNotes.find(status);
  return it == kNotes.end() ? status : it->second;
}

// One service request in GeoReport v2's fields. `full`: the reader may see
// the case, so the description and the latest note are included.
ordered_json RequestJson(Context& c, const core::CaseRecord& r, bool full) {
  const core::TownConfig& config = c.town.config;
  auto cat = config.categories.find(r.category);
  std::string updated = r.received_at;
  std::string notes = StatusNote(r.status);
  if (auto events = c.db.Events(r.id); events && !events->empty()) {
    updated = events->back().at;
    if (full && !events->back().note.empty()) {
      notes += "：" + events->back().note;
    }
  }
  std::string agency = r.office.empty() ? "" : OfficeName(config, r.office);
  if (agency.empty() && config.branches.contains(r.branch)) {
    agency = config.branches.at(r.branch).name;
  }
  return {{"service_request_id", r.number},
          {"status", IsClosed(r.status) ? "closed" : "open"},
          {"status_notes", notes},
          {"service_name",
           cat == config.categories.end() ? r.category : cat->second.name},
          {"service_code", r.category},
          {"description", full ? r.description : ""},
          {"agency_responsible", agency},
          {"service_notice", ""},
          {"requested_datetime", r.received_at},
          {"updated_datetime", updated},
          {"expected_datetime", IsClosed(r.status) ? "" : r.handle_by},
          {"address", r.address},
          {"address_id", ""},
          {"zipcode", ""},
          {"lat", r.lat},
          {"long", r.lon},
          {"media_url", ""}};
}

// The case numbered `number` ("TY-20261130-0007": the 7th case received on
// that local day), or nullopt.
Result<std::optional<core::CaseRecord>> FindByNumber(
    Context& c, const std::string& number, const core::CaseFilter& scope) {
  static const std::regex kNumber(
      R"([A-Za-z0-9]{1,8}-(\d{4})(\d{2})(\d{2})-\d{1,9})");
  std::smatch m;
  if (!std::regex_match(number, m, kNumber)) return std::nullopt;
  auto day = core::ParseTime(m[1].str() + "-" + m[2].str() + "-" + m[3].str() +
                             "T00:00");
  if (!day) return std::nullopt;
  core::CaseFilter f = scope;
  f.received_from = core::FormatLocal(*day);
  f.received_to = core::FormatLocal(*day + std::chrono::hours(24));
  f.limit = kPage;
  for (f.offset = 0;; f.offset += kPage) {
    auto page = c.db.ListCases(f);
    if (!page) return std::unexpected(page.error());
    for (auto& r : *page) {
      if (r.number == number) return std::optional(std::move(r));
    }
    if (int64_t(page->size()) < kPage) return std::nullopt;
  }
}

// Splits "a,b, c" into its non-empty trimmed parts.
std::vector<std::string> CommaList(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    std::string part = s.substr(start, end - start);
    while (!part.empty() && part.front() == ' ') part.erase(0, 1);
    while (!part.empty() && part.back() == ' ') part.pop_back();
    if (!part.empty()) out.push_back(part);
    start = end + 1;
  }
  return out;
}

// W3C date-time: 2026-11-30, 2026-11-30T15:20, 2026-11-30T15:20:00Z,
// 2026-11-30T15:20:00.123+08:00 (fractions are dropped).
Result<core::Time> ParseW3c(std::string text, const std::string& field) {
  if (text.size() == 10) text += "T00:00";
  if (auto dot = text.find('.'); dot != std::string::npos && dot > 10) {
    size_t end = dot + 1;
    while (end < text.size() &&
           std::isdigit(static_cast<unsigned char>(text[end])))
      ++end;
    text.erase(dot, end - dot);
  }
  // A '+' in a query string may have been decoded to a space.
  if (text.size() > 19 && text[19] == ' ') text[19] = '+';
  auto t = core::ParseTime(text);
  if (!t) {
    return Fail(
        ErrorCode::kInvalidArgument,
        field + " must be a W3C date-time like 2026-11-30T15:20:00+08:00",
        field);
  }
  return *t;
}

// --- the endpoints ---------------------------------------------------------

struct Call {
  Context& c;
  Format format;
  std::map<std::string, std::string> params;

  std::string Param(const std::string& key) const {
    auto it = params.find(key);
    return it == params.end() ? "" : it->second;
  }

  // The user of api_key; nullopt without one; an error for a bad one.
  Result<std::optional<core::User>> Reader() {
    std::string key = Param("api_key");
    if (key.empty()) return std::nullopt;
    auto u = UserForToken(c, key);
    if (!u) {
      return Fail(ErrorCode::kPermissionDenied,
                  "api_key is unknown or expired; log in (POST /api/v1/login) "
                  "and send the token as api_key",
                  "api_key");
    }
    return std::optional(*u);
  }

  // jurisdiction_id may be absent, the town's code or its name.
  std::optional<ApiResponse> CheckJurisdiction() {
    std::string j = Param("jurisdiction_id");
    const auto& config = c.town.config;
    if (j.empty() || j == config.code || j == config.name) return std::nullopt;
    if (AsciiLower(j) == config.code) return std::nullopt;
    return Errors(format, 404,
                  {"jurisdiction_id " + j +
                   " is not served here; this server "
                   "serves " +
                   config.code + " (" + config.name + ")"});
  }

  ApiResponse Discovery() {
    // Clients post to the url found here: with --public-url it is the
    // configured one; otherwise the Host the client asked for, and only if
    // it is a host name (no path, quotes or markup to carry elsewhere).
    std::string base = c.api.options().public_url;
    if (base.empty()) {
      auto it = c.req.headers.find("host");
      if (it == c.req.headers.end() || !IsHostPort(it->second)) {
        return Errors(format, 400,
                      {"发现文档需要有效的 Host 请求头 / discovery needs a "
                       "Host header naming this server as host[:port]; or "
                       "start wangge serve with --public-url"});
      }
      base = "http://" + it->second;
    }
    const auto& config = c.town.config;
    ordered_json endpoint = {
        {"specification", kSpec},
        {"url", base + "/open311/v2"},
        {"changeset", "2026-11-30T00:00:00+08:00"},
        {"type", "production"},
        {"formats", ordered_json::array({"application/json", "text/xml"})}};
    ordered_json d = {
        {"changeset", "2026-11-30T00:00:00+08:00"},
        {"contact", config.name + "综治中心 (" + config.code + ")"},
        {"key_service",
         "api_key is an account token: POST /api/v1/login "
         "{\"username\",\"password\"} and use its token"},
        {"endpoints", ordered_json::array({endpoint})}};
    return Render(format, 200, d, "discovery");
  }

  ApiResponse Services() {
    if (auto bad = CheckJurisdiction()) return *bad;
    ordered_json list = ordered_json::array();
    for (const auto& [code, cat] : c.town.config.categories) {
      list.push_back(ServiceJson(c.town.config, cat));
    }
    return Render(format, 200, list, "services");
  }

  ApiResponse ServiceDefinition(const std::string& code) {
    if (auto bad = CheckJurisdiction()) return *bad;
    if (!c.town.config.categories.contains(code)) {
      return Errors(
          format, 404,
          {"service_code " + code + " is not a service here; see services." +
           (format == Format::kJson ? "json" : "xml")});
    }
    ordered_json d = {{"service_code", code},
                      {"attributes", ordered_json::array()}};
    return Render(format, 200, d, "service_definition");
  }

  ApiResponse Post() {
    if (auto it = c.req.headers.find("content-type");
        it != c.req.headers.end() &&
        !it->second.starts_with("application/x-www-form-urlencoded")) {
      return Errors(format, 400,
                    {"send the request as application/x-www-form-urlencoded "
                     "(got " +
                     it->second + ")"});
    }
    if (c.req.body.size() > kMaxForm) {
      return Errors(format, 413,
                    {"the form is " + std::to_string(c.req.body.size()) +
                     " bytes; send at most 1 MiB (photos go to "
                     "/api/v1/cases/{id}/attachments)"});
    }
    auto form = ParseForm(c.req.body);
    if (!form) return ErrorOf(format, form.error());
    for (auto& [k, v] : *form) params[k] = v;
    std::string key = Param("api_key");
    if (key.empty()) {
      return Errors(format, 403,
                    {"api_key is required: log in (POST /api/v1/login) and "
                     "send the token as api_key"});
    }
    auto reader = Reader();
    if (!reader) return ErrorOf(format, reader.error());
    if (auto bad = CheckJurisdiction()) return *bad;
    const core::User& user = **reader;

    std::vector<std::string> problems;
    std::string code = Param("service_code");
    if (code.empty()) {
      problems.push_back("service_code is required; see services." +
                         std::string(format == Format::kJson ? "json" : "xml"));
    } else if (!c.town.config.categories.contains(code)) {
      problems.push_back("service_code " + code +
                         " is not a service here; see services." +
                         (format == Format::kJson ? "json" : "xml"));
    }
    auto number = [&](const char* name, double lo,
                      double hi) -> std::optional<double> {
      std::string v = Param(name);
      if (v.empty()) return std::nullopt;
      auto parsed = Decimal(v);
      double d = parsed.value_or(0);
      if (!parsed || d < lo || d > hi) {
        problems.push_back(
            std::string(name) + " must be a WGS84 " +
            (lo == -90 ? "latitude -90..90" : "longitude -180..180") +
            " in decimal degrees (got " + v + ")");
      }
      return d;
    };
    auto lat = number("lat", -90, 90);
    auto lon = number("long", -180, 180);
    if (!lat || !lon) {
      problems.push_back(
          "lat and long are required: the position in WGS84 degrees (this "
          "server does not geocode address_string)");
    }
    std::string description = Param("description");
    if (description.empty()) {
      problems.push_back("description is required: say what happened");
    }
    if (!problems.empty()) return Errors(format, 400, problems);

    core::ReportInput report;
    report.category = code;
    report.description = description;
    report.address = Param("address_string");
    report.lon = lon;
    report.lat = lat;
    std::string idem;
    if (auto it = c.req.headers.find("idempotency-key");
        it != c.req.headers.end()) {
      idem = it->second;
    } else {
      // A retry of the identical form makes no second case.
      auto fields = params;
      fields.erase("api_key");
      idem = "open311:" + core::Digest(ordered_json(fields).dump());
    }
    auto in = core::SubmitReport(c.db, c.town, user, report, idem, c.now,
                                 c.api.case_writer());
    if (!in) return ErrorOf(format, in.error());
    const core::CaseRecord& r = in->record;
    std::string who =
        r.office.empty() ? "" : OfficeName(c.town.config, r.office);
    std::string notice =
        "已收到，编号 " + r.number + "；" + (who.empty() ? "" : who + " ") +
        "将在 " + r.accept_by + " 前受理，" + r.handle_by +
        " 前办结。Received as " + r.number + "; to be accepted by " +
        r.accept_by + " and handled by " + r.handle_by + ".";
    ordered_json list =
        ordered_json::array({{{"service_request_id", r.number},
                              {"service_notice", notice},
                              {"account_id", std::to_string(user.id)}}});
    ApiResponse out =
        Render(format, in->existed ? 200 : 201, list, "service_requests");
    out.headers["Location"] = "/open311/v2/requests/" + r.number +
                              (format == Format::kJson ? ".json" : ".xml");
    return out;
  }

  ApiResponse Get(const std::optional<std::string>& one) {
    auto reader = Reader();
    if (!reader) return ErrorOf(format, reader.error());
    if (auto bad = CheckJurisdiction()) return *bad;
    const std::optional<core::User>& user = *reader;
    core::CaseFilter scope;
    if (user) scope = core::ScopeTo(*user, c.town, scope);
    bool full = user.has_value();
    ordered_json list = ordered_json::array();

    std::vector<std::string> ids = one ? std::vector<std::string>{*one}
                                       : CommaList(Param("service_request_id"));
    if (!ids.empty()) {
      for (const auto& id : ids) {
        auto found = FindByNumber(c, id, scope);
        if (!found) return ErrorOf(format, found.error());
        if (*found) list.push_back(RequestJson(c, **found, full));
      }
      if (one && list.empty()) {
        return Errors(format, 404,
                      {"service request " + *one +
                       " does not exist or is not yours to see"});
      }
      return Render(format, 200, list, "service_requests");
    }

    core::CaseFilter f = scope;
    std::set<std::string> codes;
    for (const auto& s : CommaList(Param("service_code"))) codes.insert(s);
    for (const auto& s : codes) {
      if (!c.town.config.categories.contains(s)) {
        return Errors(format, 400,
                      {"service_code " + s + " is not a service here"});
      }
    }
    if (codes.size() == 1) f.category = *codes.begin();
    std::set<std::string> statuses;
    for (const auto& s : CommaList(Param("status"))) {
      if (s != "open" && s != "closed") {
        return Errors(format, 400,
                      {"status must be open or closed (got " + s + ")"});
      }
      statuses.insert(s);
    }
    std::optional<core::Time> start, end;
    for (auto [name, out] :
         {std::pair{"start_date", &start}, std::pair{"end_date", &end}}) {
      if (std::string v = Param(name); !v.empty()) {
        auto t = ParseW3c(v, name);
        if (!t) return ErrorOf(format, t.error());
        *out = *t;
      }
    }
    if (start && end && *end < *start) {
      return Errors(format, 400, {"end_date is before start_date"});
    }
    // Default window: the 90 days before end_date (or now).
    if (!start) start = end.value_or(c.now) - std::chrono::days(90);
    f.received_from = core::FormatLocal(*start);
    if (end) f.received_to = core::FormatLocal(*end + std::chrono::seconds(1));
    f.limit = kPage;
    for (f.offset = 0; int64_t(list.size()) < kMaxResults; f.offset += kPage) {
      auto page = c.db.ListCases(f);
      if (!page) return ErrorOf(format, page.error());
      for (const auto& r : *page) {
        if (!codes.empty() && !codes.contains(r.category)) continue;
        if (!statuses.empty() &&
            !statuses.contains(IsClosed(r.status) ? "closed" : "open")) {
          continue;
        }
        list.push_back(RequestJson(c, r, full));
        if (int64_t(list.size()) == kMaxResults) break;
      }
      if (int64_t(page->size()) < kPage) break;
    }
    return Render(format, 200, list, "service_requests");
  }
};

}  // namespace

std::optional<ApiResponse> Open311Route(Context& c) {
  const std::string& p = c.req.path;
  if (!p.starts_with("/open311/")) return std::nullopt;
  static const std::regex kPath(
      R"(/open311/(?:v2/)?(discovery|services|services/([^/]{1,64})|requests|requests/([^/]{1,64}))\.(json|xml))");
  std::smatch m;
  if (!std::regex_match(p, m, kPath)) {
    c.route = "/open311/unmatched";
    return Errors(p.ends_with(".xml") ? Format::kXml : Format::kJson, 404,
                  {"no such Open311 endpoint: " + p +
                   "; see /open311/v2/discovery.json"});
  }
  Call call{c, m[4] == "xml" ? Format::kXml : Format::kJson, c.req.query};
  std::string what = m[1];
  const std::string& method = c.req.method;
  std::string ext = "." + m[4].str();
  if (what == "discovery") {
    c.route = "/open311/v2/discovery" + ext;
    if (method == "GET") return call.Discovery();
  } else if (what == "services") {
    c.route = "/open311/v2/services" + ext;
    if (method == "GET") return call.Services();
  } else if (m[2].matched) {
    c.route = "/open311/v2/services/{code}" + ext;
    if (method == "GET") return call.ServiceDefinition(m[2]);
  } else if (what == "requests") {
    c.route = "/open311/v2/requests" + ext;
    if (method == "POST") return call.Post();
    if (method == "GET") return call.Get(std::nullopt);
  } else {
    c.route = "/open311/v2/requests/{id}" + ext;
    if (method == "GET") return call.Get(m[3].str());
  }
  return Errors(call.format, 405, {method + " is not allowed on " + p});
}

}  // namespace wangge::server::internal
