// Photos of a case over HTTP (issue 5). The body of an upload is the raw
// image; its content decides the type, not the Content-Type header.
//
//   POST /api/v1/cases/{id}/attachments           image -> 201 attachment
//   GET  /api/v1/cases/{id}/attachments           {"attachments": [...]}
//   GET  /api/v1/cases/{id}/attachments/{att_id}  the stored image
//   GET  /api/v1/cases/{id}, POST .../actions     + "attachments"
//
// Only users who may read the case (core::MayRead: its scope, reporter,
// assignee or co-handling office, the same rule as GET /api/v1/cases/{id})
// may upload or read its photos; for others the case does not exist (404).
// An assignee must be able to attach the photo that `handle` asks for.
#include <nlohmann/json.hpp>
#include <regex>

#include "core/attachments.h"
#include "core/workflow.h"
#include "server/api_internal.h"

namespace wangge::server::internal {
namespace {

using nlohmann::ordered_json;

std::string FilesDir(const Context& c) {
  const Api::Options& o = c.api.options();
  return o.files_dir.empty() ? core::DefaultFilesDir(o.db_path) : o.files_dir;
}

std::string Url(const core::Attachment& a) {
  return "/api/v1/cases/" + std::to_string(a.case_id) + "/attachments/" +
         std::to_string(a.id);
}

ordered_json AttachmentOut(const core::Attachment& a) {
  auto opt = [](const auto& v) {
    return v ? ordered_json(*v) : ordered_json();
  };
  return {{"id", a.id},
          {"sha256", a.sha256},
          {"mime", a.mime},
          {"bytes", a.bytes},
          {"lon", opt(a.lon)},
          {"lat", opt(a.lat)},
          {"url", Url(a)},
          {"width", opt(a.width)},
          {"height", opt(a.height)},
          {"orientation", a.orientation},
          {"uploaded_by", a.uploaded_by},
          {"uploaded_at", a.uploaded_at}};
}

ApiResponse NotYours(const std::string& id) {
  return ErrorResponse(404, "not_found",
                       "case " + id + " does not exist or is not yours to see",
                       "id");
}

ApiResponse Upload(Context& c, const core::User& user,
                   const core::CaseRecord& kase) {
  const std::string& body = c.req.body;
  if (body.size() > core::kMaxPhotoBytes) {
    return ErrorResponse(413, "payload_too_large",
                         "图片过大 / the photo is " +
                             std::to_string(body.size()) +
                             " bytes; photos may be at most 10 MiB. Send it "
                             "smaller (the phone page shrinks photos itself)",
                         "body");
  }
  auto type = c.req.headers.find("content-type");
  if (type != c.req.headers.end() &&
      type->second.starts_with("multipart/form-data")) {
    return ErrorResponse(415, "unsupported_media_type",
                         "请直接发送图片 / send the image itself as the body "
                         "(Content-Type: image/jpeg, image/png or "
                         "image/webp), not a multipart form",
                         "Content-Type");
  }
  auto saved = core::SaveAttachment(c.db, FilesDir(c), kase.id, user.id, body,
                                    IsoUtc(c.now));
  if (!saved) return FromError(saved.error());
  ApiResponse r =
      JsonOf(saved->existed ? 200 : 201, AttachmentOut(saved->attachment));
  r.headers["Location"] = Url(saved->attachment);
  return r;
}

ApiResponse List(Context& c, const core::CaseRecord& kase) {
  ordered_json out = ordered_json::object();
  if (auto ok = AddAttachments(c, kase.id, out); !ok) {
    return FromError(ok.error());
  }
  return JsonOf(200, out);
}

ApiResponse Serve(Context& c, const core::CaseRecord& kase,
                  const std::string& att_id) {
  auto a = c.db.GetAttachment(std::stoll(att_id));
  if (!a || a->case_id != kase.id) {
    return ErrorResponse(
        404, "not_found",
        "case " + std::to_string(kase.id) + " has no attachment " + att_id,
        "id");
  }
  ApiResponse r;
  r.headers["Cache-Control"] = "private";
  r.headers["X-Content-Type-Options"] = "nosniff";
  r.headers["ETag"] = "\"" + a->sha256 + "\"";
  auto match = c.req.headers.find("if-none-match");
  if (match != c.req.headers.end() && match->second == r.headers["ETag"]) {
    r.status = 304;
    r.content_type = a->mime;
    return r;
  }
  auto bytes = core::ReadAttachmentFile(FilesDir(c), *a);
  if (!bytes) {
    std::fprintf(stderr, "attachments: %s\n", bytes.error().message.c_str());
    return FromError(bytes.error());
  }
  r.body = std::move(*bytes);
  r.content_type = a->mime;
  return r;
}

}  // namespace

Result<void> AddAttachments(Context& c, int64_t case_id,
                            ordered_json& case_answer) {
  auto list = c.db.Attachments(case_id);
  if (!list) return std::unexpected(list.error());
  ordered_json out = ordered_json::array();
  for (const auto& a : *list) out.push_back(AttachmentOut(a));
  case_answer["attachments"] = std::move(out);
  return {};
}

std::optional<ApiResponse> AttachmentsRoute(Context& c) {
  static const std::regex kAttachments(
      R"(/api/v1/cases/(\d{1,18})/attachments(?:/(\d{1,18}))?)");
  const std::string& m = c.req.method;
  const std::string& p = c.req.path;
  if (!p.starts_with("/api/v1/cases/")) return std::nullopt;
  std::smatch match;
  if (!std::regex_match(p, match, kAttachments)) return std::nullopt;
  bool one = match[2].matched;
  c.route = one ? "/api/v1/cases/{id}/attachments/{att_id}"
                : "/api/v1/cases/{id}/attachments";
  if (!(m == "GET" || (m == "POST" && !one))) {
    ApiResponse r = ErrorResponse(
        405, "method_not_allowed",
        m + " is not allowed here; use " + (one ? "GET" : "GET or POST"));
    r.headers["Allow"] = one ? "GET" : "GET, POST";
    return r;
  }
  auto user = Authenticate(c);
  if (!user) {
    return ErrorResponse(401, "unauthenticated", user.error().message,
                         "Authorization");
  }
  auto kase = c.db.GetCase(std::stoll(match[1]));
  if (!kase || !core::MayRead(*kase, *user, c.town)) return NotYours(match[1]);
  if (m == "POST") return Upload(c, *user, *kase);
  if (one) return Serve(c, *kase, match[2]);
  return List(c, *kase);
}

}  // namespace wangge::server::internal
