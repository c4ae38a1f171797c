#include "spatial/import.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

namespace wangge::spatial {
namespace {

constexpr LayerKind kAllKinds[] = {LayerKind::kVillages, LayerKind::kCells,
                                   LayerKind::kZones, LayerKind::kHouseholds,
                                   LayerKind::kShopfronts};

// Chinese first, then English: the label a report puts before a problem.
const char* KindLabel(const std::string& kind) {
  static const std::map<std::string, const char*> labels = {
      {"missing_field", "缺少字段 missing field"},
      {"missing_code", "缺少编码 missing code"},
      {"missing_value", "缺少属性 missing value"},
      {"duplicate_code", "编码重复 duplicate code"},
      {"empty_geometry", "空几何 empty geometry"},
      {"wrong_geometry_type", "几何类型错误 wrong geometry type"},
      {"bad_coordinate", "坐标错误 bad coordinate"},
      {"invalid_geometry", "几何无效 invalid geometry"},
      {"overlap", "重叠 overlap"},
      {"gap", "空隙 gap"},
      {"outside_village", "超出村界 outside village"},
      {"unknown_village", "村编码不存在 unknown village"},
      {"villages_file", "村界文件 villages file"},
      {"check_failed", "无法检查 check failed"},
      {"read_error", "读取错误 read error"},
  };
  auto it = labels.find(kind);
  return it == labels.end() ? "问题 problem" : it->second;
}

double Round(double v, double unit) { return std::round(v / unit) * unit; }

}  // namespace

const char* LayerKindName(LayerKind kind) {
  switch (kind) {
    case LayerKind::kVillages:
      return "villages";
    case LayerKind::kCells:
      return "cells";
    case LayerKind::kZones:
      return "zones";
    case LayerKind::kHouseholds:
      return "households";
    case LayerKind::kShopfronts:
      return "shopfronts";
  }
  return "cells";
}

Result<LayerKind> ParseLayerKind(std::string_view name) {
  for (LayerKind kind : kAllKinds) {
    if (name == LayerKindName(kind)) return kind;
  }
  return Fail(ErrorCode::kInvalidArgument,
              "unknown layer `" + std::string(name) +
                  "`; choose villages, cells, zones, households or shopfronts",
              "layer");
}

bool IsPointLayer(LayerKind kind) {
  return kind == LayerKind::kHouseholds || kind == LayerKind::kShopfronts;
}

std::vector<std::string> RequiredFields(LayerKind kind) {
  if (kind == LayerKind::kCells) return {"name", "village", "branch"};
  return {"name"};
}

void CheckLayer(ImportResult& result, const std::vector<Feature>* villages,
                const TopologyOptions& options) {
  if (IsPointLayer(result.layer) || result.layer == LayerKind::kZones) return;
  TopologyOptions o = options;
  o.file = result.file;
  std::vector<TopologyReport> reports;
  if (result.layer == LayerKind::kCells && villages) {
    reports.push_back(CheckCells(result.features, *villages, o));
  } else {
    reports.push_back(CheckOverlaps(result.features, o));
    if (result.layer == LayerKind::kCells) {
      reports.push_back(CheckGapsBetweenCells(result.features, o));
    }
  }
  for (TopologyReport& r : reports) {
    result.slivers += r.slivers;
    result.sliver_area_m2 += r.sliver_area_m2;
    for (Problem& p : r.problems) result.problems.push_back(std::move(p));
  }
}

std::string FormatReport(const ImportResult& r) {
  std::string out;
  auto line = [&](const std::string& s) { out += s + "\n"; };
  size_t count = IsPointLayer(r.layer) ? r.points.size() : r.features.size();
  line("文件 source: " + r.source + " (" + r.driver + ", layer " +
       r.source_layer + ")");
  line("图层 layer: " + std::string(LayerKindName(r.layer)) + ", " +
       std::to_string(r.features_read) + " features read, " +
       std::to_string(count) + " valid");
  line("坐标系 CRS: " + r.crs + " -> EPSG:4326 (WGS 84 lon/lat)");
  line("编码 encoding: " + r.encoding);
  const ImportRepairs& fix = r.repairs;
  if (fix.total() == 0 && r.slivers == 0) {
    line("修复 repairs: none");
  } else {
    line("修复 repairs: " + std::to_string(fix.total()));
    auto item = [&](int n, const char* what) {
      if (n > 0) line("  " + std::to_string(n) + " " + what);
    };
    item(fix.repeated_vertices, "重复顶点 repeated vertices removed");
    item(fix.spikes, "零面积尖刺 zero-area spikes removed");
    item(fix.degenerate_holes, "退化内环 holes without area dropped");
    item(fix.self_touching_rings,
         "自接触环 rings touching themselves split at the touch");
    item(fix.merged_parts,
         "共边部件 parts sharing a border merged into one polygon");
    item(fix.unclosed_rings,
         "未闭合环 rings closed (their last vertex was not the first)");
    item(fix.curves, "曲线 features with arcs turned into vertices");
    item(fix.z_or_m, "Z/M 值 features whose Z or M values were dropped");
    if (r.slivers > 0) {
      char buf[160];
      std::snprintf(buf, sizeof buf,
                    "  %d 细缝 slivers (%.2f m² in all) between features "
                    "ignored as digitising noise",
                    r.slivers, r.sliver_area_m2);
      line(buf);
    }
  }
  if (r.problems.empty()) {
    line("结论 verdict: 通过 accepted");
    return out;
  }
  line("问题 problems: " + std::to_string(r.problems.size()));
  for (const Problem& p : r.problems) {
    line("  [" + std::string(KindLabel(p.kind)) + "] " + p.message);
  }
  line("结论 verdict: 拒绝 refused — fix the " +
       std::to_string(r.problems.size()) +
       " problem(s) above in the source file and run again");
  return out;
}

std::string ReportJson(const ImportResult& r) {
  using json = nlohmann::ordered_json;
  json j;
  j["source"] = r.source;
  j["file"] = r.file;
  j["driver"] = r.driver;
  j["source_layer"] = r.source_layer;
  j["crs"] = r.crs;
  j["encoding"] = r.encoding;
  j["layer"] = LayerKindName(r.layer);
  j["accepted"] = r.accepted();
  j["features_read"] = r.features_read;
  j["features"] = IsPointLayer(r.layer) ? r.points.size() : r.features.size();
  j["repairs"] = {{"repeated_vertices", r.repairs.repeated_vertices},
                  {"spikes", r.repairs.spikes},
                  {"degenerate_holes", r.repairs.degenerate_holes},
                  {"self_touching_rings", r.repairs.self_touching_rings},
                  {"merged_parts", r.repairs.merged_parts},
                  {"unclosed_rings", r.repairs.unclosed_rings},
                  {"curves", r.repairs.curves},
                  {"z_or_m", r.repairs.z_or_m},
                  {"total", r.repairs.total()}};
  j["slivers"] = {{"count", r.slivers},
                  {"area_m2", Round(r.sliver_area_m2, 0.01)}};
  json problems = json::array();
  for (const Problem& p : r.problems) {
    json q;
    q["feature"] = p.feature;
    q["kind"] = p.kind;
    q["message"] = p.message;
    q["lon"] = p.where ? json(Round(p.where->lon, 1e-7)) : json(nullptr);
    q["lat"] = p.where ? json(Round(p.where->lat, 1e-7)) : json(nullptr);
    q["area_m2"] = Round(p.area_m2, 0.1);
    q["other"] = p.other;
    problems.push_back(std::move(q));
  }
  j["problems"] = std::move(problems);
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string ErrorJson(const std::string& source, const Error& error) {
  nlohmann::ordered_json j;
  j["source"] = source;
  j["accepted"] = false;
  j["error"] = {{"code", ErrorCodeName(error.code)},
                {"message", error.message},
                {"field", error.field}};
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace wangge::spatial
