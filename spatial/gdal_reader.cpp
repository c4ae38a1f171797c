// The only translation unit of spatial/ that includes GDAL: ReadLayer (see
// spatial/import.h) and the older ReadPolygonLayer/ReadLayersDir built on it.
#include <cpl_string.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "base/code.h"
#include "base/utf8.h"
#include "spatial/import.h"
#include "spatial/layer_reader.h"
#include "spatial/simple_ring.h"

namespace wangge::spatial {
namespace {

std::string FileName(const std::string& path) {
  return std::filesystem::path(path).filename().string();
}

Error Invalid(const std::string& message, const std::string& field = {}) {
  return Error{ErrorCode::kInvalidArgument, message, field};
}

void RegisterOnce() {
  static std::once_flag once;
  std::call_once(once, [] { GDALAllRegister(); });
}

std::string HexBytes(const std::string& s, size_t max = 8) {
  std::string out;
  for (size_t i = 0; i < s.size() && i < max; ++i) {
    char buf[4];
    std::snprintf(buf, sizeof buf, "%02X",
                  unsigned(static_cast<unsigned char>(s[i])));
    out += (out.empty() ? "" : " ") + std::string(buf);
  }
  return out;
}

// Finds "near (lon, lat)" in a message, as CleanShape and NormalizeShape
// write it.
std::optional<LonLat> PlaceIn(const std::string& message) {
  auto at = message.find("near (");
  if (at == std::string::npos) return std::nullopt;
  double lon = 0, lat = 0;
  if (std::sscanf(message.c_str() + at + 6, "%lf, %lf", &lon, &lat) != 2) {
    return std::nullopt;
  }
  return LonLat{lon, lat};
}

std::string DescribeCrs(const OGRSpatialReference& srs) {
  std::string name = srs.GetName() ? srs.GetName() : "unnamed";
  const char* authority = srs.GetAuthorityName(nullptr);
  const char* code = srs.GetAuthorityCode(nullptr);
  if (authority && code) {
    return std::string(authority) + ":" + code + " (" + name + ")";
  }
  return name;
}

// For numbers that are clearly metres: the EPSG code a Gauss-Krüger zone
// prefix on the easting points to (CGCS2000 3-degree zones 25-45 are EPSG
// 4513-4533, 6-degree zones 13-23 are EPSG 4491-4501).
std::string GuessGaussKruger(double easting) {
  int zone = int(easting / 1e6);
  if (zone >= 25 && zone <= 45) {
    return "EPSG:" + std::to_string(4513 + zone - 25) +
           " (CGCS2000 3-degree Gauss-Kruger zone " + std::to_string(zone) +
           ")";
  }
  if (zone >= 13 && zone <= 23) {
    return "EPSG:" + std::to_string(4491 + zone - 13) +
           " (CGCS2000 6-degree Gauss-Kruger zone " + std::to_string(zone) +
           ")";
  }
  return "the CGCS2000 Gauss-Kruger CRS the data was drawn in, e.g. EPSG:4546 "
         "(3-degree, central meridian 111E, no zone prefix)";
}

// Gauss-Krüger, as GDAL reads ESRI's "Gauss_Kruger" too.
bool TransverseMercator(const OGRSpatialReference& srs) {
  const char* projection = srs.GetAttrValue("PROJECTION");
  return srs.IsProjected() && projection &&
         std::string_view(projection) == SRS_PT_TRANSVERSE_MERCATOR;
}

// A Gauss-Krüger (transverse Mercator) CRS whose false easting disagrees
// with the data about the zone prefix, a slip easy to make in a GIS office:
// eastings like 37,421,503 (zone 37 written in front) under a .prj for
// "CM 111E" (false easting 500,000), or eastings like 421,503 under a .prj
// for "zone 37" (37,500,000). Every point then fails to reproject.
struct ZoneFix {
  std::string why;    // how the eastings and the CRS disagree
  std::string meant;  // "EPSG:NNNN (name)", or a PROJ string
  bool adds_prefix;   // the CRS meant has the zone prefix
};
// Nothing when they agree.
std::optional<ZoneFix> ZonePrefixFix(const OGRSpatialReference& srs,
                                     const OGREnvelope& extent) {
  const double false_easting = srs.GetProjParm(SRS_PP_FALSE_EASTING, 0);
  const double meridian = srs.GetProjParm(SRS_PP_CENTRAL_MERIDIAN, 0);
  const int zone = int(extent.MinX / 1e6);
  double meant;
  char text[200];
  if (false_easting < 1e6 && zone >= 10 && zone == int(extent.MaxX / 1e6) &&
      (std::abs(meridian - 3 * zone) < 1e-6 ||
       std::abs(meridian - (6 * zone - 3)) < 1e-6)) {
    meant = zone * 1e6 + false_easting;
    std::snprintf(text, sizeof text,
                  "its eastings (%.0f to %.0f) carry the Gauss-Kruger zone "
                  "prefix %d, but the CRS has none (false easting %.0f)",
                  extent.MinX, extent.MaxX, zone, false_easting);
  } else if (false_easting >= 1e7 && extent.MinX > 0 && extent.MaxX < 1e6) {
    meant = std::fmod(false_easting, 1e6);
    std::snprintf(text, sizeof text,
                  "its eastings (%.0f to %.0f) have no Gauss-Kruger zone "
                  "prefix, but the CRS expects one (false easting %.0f)",
                  extent.MinX, extent.MaxX, false_easting);
  } else {
    return std::nullopt;
  }
  ZoneFix fix{text, "", meant >= 1e6};
  // China's Gauss-Krüger CRSs in EPSG (3- and 6-degree, with and without
  // the zone prefix): name the one meant when it is there. The zone tells
  // 3-degree from 6-degree where both share the meridian (111E: 3-degree
  // zone 37, 6-degree zone 19; the same projection), and the datum must be
  // the one the .prj names (New Beijing shares Beijing 1954's ellipsoid).
  struct Family {
    int first, last;
  };
  static constexpr Family kFamilies[] = {
      {4491, 4554},    // CGCS2000
      {2327, 2390},    // Xi'an 1980
      {2401, 2442},    // Beijing 1954, 3-degree
      {21413, 21423},  // Beijing 1954, 6-degree zones
      {21453, 21463},  // Beijing 1954, 6-degree central meridians
  };
  const int prefix = int(std::max(meant, false_easting) / 1e6);
  const bool three = std::abs(meridian - 3 * prefix) < 1e-6;
  std::string other_width;  // a match of the other zone width
  for (const Family& family : kFamilies) {
    for (int code = family.first; code <= family.last; ++code) {
      OGRSpatialReference candidate;
      CPLPushErrorHandler(CPLQuietErrorHandler);  // an unknown code is no news
      bool known = candidate.importFromEPSG(code) == OGRERR_NONE;
      CPLPopErrorHandler();
      if (!known ||
          std::abs(candidate.GetProjParm(SRS_PP_FALSE_EASTING, 0) - meant) >=
              1e-3 ||
          std::abs(candidate.GetProjParm(SRS_PP_CENTRAL_MERIDIAN, 0) -
                   meridian) >= 1e-6 ||
          !candidate.IsSameGeogCS(&srs)) {
        continue;
      }
      const char* name = candidate.GetName();
      bool three_degree =
          name && std::string_view(name).find("3-degree") != std::string::npos;
      if (three_degree == three) {
        fix.meant = DescribeCrs(candidate);
        return fix;
      }
      if (other_width.empty()) other_width = DescribeCrs(candidate);
    }
  }
  if (!other_width.empty()) {
    fix.meant = other_width;
    return fix;
  }
  // Xi'an 1980, Beijing 1954 and the rest: the same CRS, spelled out.
  OGRSpatialReference fixed(srs);
  fixed.SetProjParm(SRS_PP_FALSE_EASTING, meant);
  char* proj4 = nullptr;
  std::string out;
  if (fixed.exportToProj4(&proj4) == OGRERR_NONE && proj4) out = proj4;
  CPLFree(proj4);
  while (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.empty()) return std::nullopt;
  fix.meant = "'" + out + "'";
  return fix;
}

bool LooksLikeDegrees(const OGREnvelope& e) {
  return e.MinX >= -180 && e.MaxX <= 180 && e.MinY >= -90 && e.MaxY <= 90;
}

std::string CoordinateText(double x, double y) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "(%.9g, %.9g)", x, y);
  return buf;
}

// A polygon feature read from the source whose shape still has to be
// cleaned and normalised, and what that gave.
struct Deferred {
  size_t problems_at = 0;  // problems found before it, in source order
  std::string id;          // its code, or "#position"
  std::string who;         // "file, feature id", for messages
  bool ok = true;          // its attributes are fine: keep it if valid
  Feature feature;         // shape: as converted, then as repaired
  bool failed = false;     // the shape is refused: kind and message say why
  std::string kind;
  std::string message;
  ImportRepairs repairs;  // conversion's, then cleaning's
};

void Repair(Deferred& d) {
  try {
    bool simple = false;  // one simple ring: checked once, not twice
    auto cleaned = CleanShape(std::move(d.feature.shape), simple);
    if (!cleaned) {
      d.failed = true;
      d.message = cleaned.error().message;
      d.kind = d.message.find("empty") != std::string::npos
                   ? "empty_geometry"
                   : "invalid_geometry";
      return;
    }
    auto normal = NormalizeShape(std::move(cleaned->shape), simple);
    if (!normal) {
      d.failed = true;
      d.kind = "invalid_geometry";
      d.message = normal.error().message;
      return;
    }
    d.repairs.repeated_vertices += cleaned->repairs.repeated_vertices;
    d.repairs.spikes += cleaned->repairs.spikes;
    d.repairs.degenerate_holes += cleaned->repairs.degenerate_holes;
    d.repairs.self_touching_rings += normal->self_touching_rings;
    d.repairs.merged_parts += normal->merged_parts;
    d.feature.shape = std::move(normal->shape);
  } catch (const std::exception& e) {
    d.failed = true;
    d.kind = "invalid_geometry";
    d.message = std::string("geometry could not be checked (") + e.what() +
                "). Fix it in QGIS (Check Validity) and load again";
  }
}

// Repairs every deferred shape, on all cores for a large layer (CleanShape
// and NormalizeShape are pure). Each feature's outcome is its own, so the
// result does not depend on the number of threads.
void RepairAll(std::vector<Deferred>& deferred) {
  constexpr size_t kChunk = 256;
  size_t threads =
      std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), 8);
  threads = std::min(threads, (deferred.size() + kChunk - 1) / kChunk);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t start; (start = next.fetch_add(kChunk)) < deferred.size();) {
      size_t end = std::min(deferred.size(), start + kChunk);
      for (size_t i = start; i < end; ++i) Repair(deferred[i]);
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
}

struct Converter {
  bool wgs84_by_definition = false;  // no CRS declared, taken as WGS84
  bool geographic_source = false;    // the declared CRS is lon/lat

  // `fixed` counts what conversion changes: rings closed, arcs and Z or M
  // values dropped.
  Result<Ring> ConvertRing(const OGRLinearRing& ring,
                           ImportRepairs& fixed) const {
    if (ring.getNumPoints() > 2 && !ring.get_IsClosed()) ++fixed.unclosed_rings;
    Ring out;
    out.reserve(ring.getNumPoints());
    for (int i = 0; i < ring.getNumPoints(); ++i) {
      auto p = ConvertPoint(ring.getX(i), ring.getY(i));
      if (!p) return std::unexpected(p.error());
      out.push_back(*p);
    }
    return out;
  }

  Result<Pt> ConvertPoint(double x, double y) const {
    auto p = ToFixed({x, y});
    if (p) return p;
    if (!std::isfinite(x) || !std::isfinite(y)) {
      return std::unexpected(Invalid("coordinate " + CoordinateText(x, y) +
                                     " is not a number; redraw the feature"));
    }
    if (std::abs(x) > 1e8 || std::abs(y) > 1e8) {
      return std::unexpected(
          Invalid("coordinate " + CoordinateText(x, y) +
                  " is far outside any map, in degrees or metres (damaged "
                  "data?); redraw the feature or export the file again"));
    }
    if (wgs84_by_definition || geographic_source) {
      return std::unexpected(Invalid(
          "coordinate " + CoordinateText(x, y) +
          " is not a longitude/latitude; the file has no CRS or a lon/lat "
          "one, so its numbers look like projected metres. Save it with its "
          "real CRS (.prj) "
          "or as WGS84 (EPSG:4326), or give --s-srs " +
          GuessGaussKruger(x)));
    }
    return std::unexpected(Invalid(
        "coordinate " + CoordinateText(x, y) +
        " is outside the world after reprojection to WGS84; check that the "
        "declared CRS (.prj or --s-srs) is the one the data was drawn in"));
  }

  Result<Polygon> ConvertPolygon(const OGRPolygon& polygon,
                                 ImportRepairs& fixed) const {
    Polygon out;
    if (const OGRLinearRing* shell = polygon.getExteriorRing()) {
      auto ring = ConvertRing(*shell, fixed);
      if (!ring) return std::unexpected(ring.error());
      out.rings.push_back(std::move(*ring));
    }
    for (int i = 0; i < polygon.getNumInteriorRings(); ++i) {
      auto ring = ConvertRing(*polygon.getInteriorRing(i), fixed);
      if (!ring) return std::unexpected(ring.error());
      out.rings.push_back(std::move(*ring));
    }
    return out;
  }

  // Problem kinds: empty_geometry, wrong_geometry_type, bad_coordinate.
  Result<Shape> ConvertShape(const OGRGeometry* geometry, std::string& kind,
                             ImportRepairs& fixed) const {
    if (geometry == nullptr || geometry->IsEmpty()) {
      kind = "empty_geometry";
      return std::unexpected(Invalid("geometry is empty; draw its boundary"));
    }
    if (geometry->Is3D() || geometry->IsMeasured()) ++fixed.z_or_m;
    if (geometry->hasCurveGeometry()) ++fixed.curves;
    std::unique_ptr<OGRGeometry> linear;
    OGRwkbGeometryType type = wkbFlatten(geometry->getGeometryType());
    if (type == wkbCurvePolygon || type == wkbMultiSurface ||
        type == wkbGeometryCollection) {
      // KML MultiGeometry, curved polygons: as a MultiPolygon if they are
      // polygons only.
      bool polygons_only = true;
      if (type == wkbGeometryCollection) {
        for (const OGRGeometry* g : *geometry->toGeometryCollection()) {
          auto t = wkbFlatten(g->getGeometryType());
          polygons_only &= t == wkbPolygon || t == wkbMultiPolygon;
        }
      }
      if (polygons_only) {
        linear.reset(OGRGeometryFactory::forceToMultiPolygon(
            geometry->getLinearGeometry()));
        geometry = linear.get();
        type = wkbFlatten(geometry->getGeometryType());
      }
    }
    Shape shape;
    switch (type) {
      case wkbPolygon: {
        auto part = ConvertPolygon(*geometry->toPolygon(), fixed);
        if (!part) {
          kind = "bad_coordinate";
          return std::unexpected(part.error());
        }
        shape.parts.push_back(std::move(*part));
        break;
      }
      case wkbMultiPolygon:
        for (const OGRPolygon* polygon : *geometry->toMultiPolygon()) {
          if (polygon->IsEmpty()) continue;
          auto part = ConvertPolygon(*polygon, fixed);
          if (!part) {
            kind = "bad_coordinate";
            return std::unexpected(part.error());
          }
          shape.parts.push_back(std::move(*part));
        }
        break;
      default:
        kind = "wrong_geometry_type";
        return std::unexpected(
            Invalid(std::string("geometry is a ") +
                    OGRGeometryTypeToName(geometry->getGeometryType()) +
                    "; boundary layers need Polygon or MultiPolygon"));
    }
    return shape;
  }

  Result<Pt> ConvertPointGeometry(const OGRGeometry* geometry,
                                  std::string& kind) const {
    if (geometry == nullptr || geometry->IsEmpty()) {
      kind = "empty_geometry";
      return std::unexpected(Invalid("geometry is empty; place the point"));
    }
    OGRwkbGeometryType type = wkbFlatten(geometry->getGeometryType());
    const OGRPoint* point = nullptr;
    if (type == wkbPoint) {
      point = geometry->toPoint();
    } else if (type == wkbMultiPoint &&
               geometry->toMultiPoint()->getNumGeometries() == 1) {
      point = geometry->toMultiPoint()->getGeometryRef(0);
    } else {
      kind = "wrong_geometry_type";
      return std::unexpected(
          Invalid(std::string("geometry is a ") +
                  OGRGeometryTypeToName(geometry->getGeometryType()) +
                  "; point layers need one Point per feature"));
    }
    auto p = ConvertPoint(point->getX(), point->getY());
    if (!p) kind = "bad_coordinate";
    return p;
  }
};

// Collects GDAL's errors and warnings while a source is read, instead of
// printing them: read errors become a problem in the report.
class CollectErrors {
 public:
  CollectErrors() { CPLPushErrorHandlerEx(&CollectErrors::Handle, this); }
  ~CollectErrors() { CPLPopErrorHandler(); }
  CollectErrors(const CollectErrors&) = delete;
  CollectErrors& operator=(const CollectErrors&) = delete;

  int errors() const { return errors_; }
  const std::string& first() const { return first_; }

 private:
  static void CPL_STDCALL Handle(CPLErr level, CPLErrorNum, const char* msg) {
    auto* self = static_cast<CollectErrors*>(CPLGetErrorHandlerUserData());
    if (level < CE_Failure || self == nullptr) return;
    if (self->errors_++ == 0) self->first_ = msg ? msg : "";
  }
  int errors_ = 0;
  std::string first_;
};

bool DriverHasOpenOption(GDALDriverH driver, const char* option) {
  const char* list =
      GDALGetMetadataItem(driver, GDAL_DMD_OPENOPTIONLIST, nullptr);
  return list && std::string(list).find("name='" + std::string(option) + "'") !=
                     std::string::npos;
}

// Checks that `encoding` is one iconv knows, by recoding a sample.
bool KnownEncoding(const std::string& encoding) {
  CPLErrorReset();
  CPLPushErrorHandler(CPLQuietErrorHandler);
  char* out = CPLRecode("abc", encoding.c_str(), CPL_ENC_UTF8);
  CPLPopErrorHandler();
  bool ok =
      CPLGetLastErrorType() == CE_None && out && std::string(out) == "abc";
  CPLFree(out);
  return ok;
}

// A feature's vertices beyond this are refused: checking a border of a
// million vertices against its neighbours' took minutes (a densified
// line); the county's own outline has 1,408.
constexpr size_t kMaxVertices = 100000;

// Text with nothing but spaces (ASCII or the ideographic U+3000) and tabs.
bool IsBlank(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] == ' ' || text[i] == '\t') {
      ++i;
    } else if (text.substr(i, 3) == "\u3000") {
      i += 3;
    } else {
      return false;
    }
  }
  return true;
}

// Whether text holds a control character other than tab (a NUL ends it in
// SQLite's C strings and in Excel).
bool HasControl(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char ch) {
    auto u = static_cast<unsigned char>(ch);
    return (u < 0x20 && ch != '\t') || u == 0x7f;
  });
}

// Text as a message can show it, at most 40 bytes: control characters as
// \xNN, and with `ascii` every byte past ASCII too (a code's full-width
// digit or zero-width space is invisible otherwise).
std::string Shown(std::string_view text, bool ascii = true) {
  std::string out;
  for (size_t i = 0; i < text.size() && i < 40; ++i) {
    auto u = static_cast<unsigned char>(text[i]);
    if (u < 0x20 || u == 0x7f || (ascii && u >= 0x80)) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", u);
      out += buf;
    } else {
      out += text[i];
    }
  }
  if (text.size() > 40) out += "…";
  return out;
}

// A zip entry's name as the user's unzip shows it. GDAL decodes names as
// CP437 unless the zip marks them UTF-8; Chinese zips hold UTF-8 (Info-ZIP,
// macOS) or GBK (Windows) bytes without the mark.
std::string ZipName(const std::string& entry) {
  auto recode = [](const std::string& text, const char* from, const char* to) {
    char* out = CPLRecode(text.c_str(), from, to);
    std::string s = out ? out : "";
    CPLFree(out);
    return s;
  };
  std::string bytes = recode(entry, CPL_ENC_UTF8, "CP437");
  if (recode(bytes, "CP437", CPL_ENC_UTF8) != entry) return ValidUtf8(entry);
  return ValidUtf8(IsUtf8(bytes) ? bytes : recode(bytes, "GBK", CPL_ENC_UTF8));
}

// Where in a zip the layer is: "" when GDAL finds it at the top, else
// "/folder/x.shp" for the one vector file in its folders (zips are often
// made of a folder: 县/2026/网格/cells.shp). Several are an error naming
// them; a shapefile without its .shx or .dbf says which is missing.
Result<std::string> ZipEntry(const std::string& zip) {
  static constexpr const char* kVector[] = {".shp",  ".gpkg", ".geojson",
                                            ".json", ".kml",  ".csv"};
  auto is_vector = [](const std::string& name) {
    std::string lower = AsciiLower(name);
    return std::any_of(std::begin(kVector), std::end(kVector),
                       [&](const char* ext) { return lower.ends_with(ext); });
  };
  std::string root = "/vsizip/" + zip;
  CPLStringList entries(VSIReadDirRecursive(root.c_str()));
  std::vector<std::string> found;
  std::set<std::string> all;
  for (int i = 0; i < entries.Count(); ++i) {
    std::string entry = entries[i];
    // macOS's Finder adds resource forks: __MACOSX/…/._cells.shp.
    if (entry.starts_with("__MACOSX/") || FileName(entry).starts_with("._")) {
      continue;
    }
    all.insert(AsciiLower(entry));
    if (is_vector(entry)) found.push_back(entry);
  }
  std::vector<std::string> shapefiles;
  for (const std::string& e : found) {
    if (AsciiLower(e).ends_with(".shp")) shapefiles.push_back(e);
  }
  const std::vector<std::string>& layers =
      shapefiles.empty() ? found : shapefiles;
  const std::string shown = ValidUtf8(FileName(zip));
  if (layers.empty()) return "";  // GDAL says what it makes of it
  for (const std::string& shp : shapefiles) {
    std::string stem = AsciiLower(shp.substr(0, shp.size() - 4));
    for (const char* part : {".shx", ".dbf"}) {
      if (!all.count(stem + part)) {
        return Fail(
            ErrorCode::kInvalidArgument,
            shown + ": " + ZipName(shp) + " has no " +
                ZipName(FileName(shp.substr(0, shp.size() - 4)) + part) +
                " beside it in the zip; zip the .shp with its .shx, "
                ".dbf, .prj and .cpg");
      }
    }
  }
  if (layers.size() == 1) {
    return layers[0].find('/') == std::string::npos ? "" : "/" + layers[0];
  }
  if (std::all_of(layers.begin(), layers.end(), [](const std::string& e) {
        return e.find('/') == std::string::npos;
      })) {
    return "";  // several at the top: --source-layer chooses
  }
  std::string list;
  for (size_t i = 0; i < layers.size() && i < 10; ++i) {
    list += (i ? ", " : "") + ZipName(layers[i]);
  }
  return Fail(ErrorCode::kInvalidArgument,
              shown + ": holds several layers in its folders (" + list +
                  "); unzip it and import the one you mean");
}

}  // namespace

Result<ImportResult> ReadLayer(const ImportOptions& options) {
  RegisterOnce();
  const std::string& path = options.source;
  ImportResult result;
  result.source = path;
  // Names are shown, stored as the version's source and written as JSON:
  // a GBK file name (as unzip leaves a Chinese Windows zip) is shown with
  // U+FFFD for what is not UTF-8.
  result.file = ValidUtf8(FileName(path));
  const std::string shown_path = ValidUtf8(path);
  result.layer = options.layer;
  const std::string& file = result.file;
  const bool points = IsPointLayer(options.layer);

  if (!path.starts_with("/vsi") && !std::filesystem::exists(path)) {
    return Fail(
        ErrorCode::kNotFound,
        shown_path +
            ": 找不到文件 / no such file; check the path or the data folder");
  }
  // A Shapefile without its attribute table opens in GDAL with no fields;
  // say what is missing instead.
  if (!path.starts_with("/vsi") && AsciiLower(path).ends_with(".shp")) {
    std::filesystem::path dbf = path;
    dbf.replace_extension(".dbf");
    std::filesystem::path upper = path;
    upper.replace_extension(".DBF");
    if (!std::filesystem::exists(dbf) && !std::filesystem::exists(upper)) {
      return Fail(ErrorCode::kInvalidArgument,
                  file + ": its attribute table " + dbf.filename().string() +
                      " is missing; copy the .dbf (and .shx, .prj, .cpg) "
                      "that came with it into the same folder");
    }
  }
  CollectErrors gdal_errors;
  std::string open_path = path;
  if (!path.starts_with("/vsi") && AsciiLower(path).ends_with(".zip")) {
    open_path = "/vsizip/" + path;
    auto inside = ZipEntry(path);
    if (!inside) return std::unexpected(inside.error());
    open_path += *inside;
  }
  CPLErrorReset();
  GDALDriverH driver =
      GDALIdentifyDriverEx(open_path.c_str(), GDAL_OF_VECTOR, nullptr, nullptr);
  std::string driver_name = driver ? GDALGetDriverShortName(driver) : "";

  // Open options: CSV geometry columns, and the text encoding if the driver
  // decodes text itself. Otherwise we recode each string below.
  CPLStringList open_options;
  if (driver_name == "CSV") {
    open_options.SetNameValue("GEOM_POSSIBLE_NAMES",
                              "WKT,wkt,geometry,geom,the_geom,shape");
    open_options.SetNameValue("X_POSSIBLE_NAMES",
                              "lon,lng,long,longitude,x,经度");
    open_options.SetNameValue("Y_POSSIBLE_NAMES", "lat,latitude,y,纬度");
    open_options.SetNameValue("KEEP_GEOM_COLUMNS", "NO");
  }
  bool recode_here = false;
  if (!options.encoding.empty()) {
    if (!KnownEncoding(options.encoding)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "--encoding " + options.encoding +
                      " is not an encoding this system knows; use e.g. GBK, "
                      "GB18030, UTF-8 or CP936",
                  "encoding");
    }
    if (driver && DriverHasOpenOption(driver, "ENCODING")) {
      open_options.SetNameValue("ENCODING", options.encoding.c_str());
    } else {
      recode_here = true;
    }
  }
  GDALDatasetUniquePtr dataset(
      GDALDataset::Open(open_path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY,
                        nullptr, open_options.List(), nullptr));
  if (!dataset) {
    std::string why = gdal_errors.first();
    return Fail(ErrorCode::kInvalidArgument,
                shown_path + ": 无法读取 / cannot be read as a vector file" +
                    (why.empty() ? std::string() : " (" + why + ")") +
                    ". Check that it is complete (a Shapefile needs its .shp, "
                    ".shx and .dbf) and in a format GDAL reads, e.g. "
                    "GeoJSON, Shapefile, GeoPackage, KML or CSV");
  }
  result.driver = dataset->GetDriver() ? dataset->GetDriver()->GetDescription()
                                       : driver_name;

  // The layer: named, or the only one with geometry.
  OGRLayer* layer = nullptr;
  std::vector<std::string> names;
  for (int i = 0; i < dataset->GetLayerCount(); ++i) {
    OGRLayer* l = dataset->GetLayer(i);
    if (l->GetGeomType() != wkbNone || dataset->GetLayerCount() == 1) {
      names.push_back(l->GetName());
    }
  }
  auto listed = [&] {
    std::string s;
    for (const std::string& n : names) s += (s.empty() ? "" : ", ") + n;
    return s.empty() ? std::string("none") : s;
  };
  if (!options.source_layer.empty()) {
    layer = dataset->GetLayerByName(options.source_layer.c_str());
    if (!layer) {
      return Fail(ErrorCode::kInvalidArgument,
                  file + ": has no layer `" + options.source_layer +
                      "`; its layers are: " + listed(),
                  "source-layer");
    }
  } else if (names.size() == 1) {
    layer = dataset->GetLayerByName(names[0].c_str());
  } else if (std::find(names.begin(), names.end(),
                       LayerKindName(options.layer)) != names.end()) {
    // A GeoPackage with all layers: take the one named like ours.
    layer = dataset->GetLayerByName(LayerKindName(options.layer));
  } else if (names.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                file + ": holds no layer with geometry");
  } else {
    return Fail(ErrorCode::kInvalidArgument,
                file + ": holds several layers (" + listed() +
                    "); choose one with --source-layer NAME",
                "source-layer");
  }
  result.source_layer = layer->GetName();

  // CRS: --s-srs wins, then the source's; none is an error unless the format
  // defines WGS84.
  OGRSpatialReference wgs84;
  wgs84.SetWellKnownGeogCS("WGS84");
  wgs84.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  std::optional<OGRSpatialReference> from;
  Converter converter;
  if (!options.source_srs.empty()) {
    from.emplace();
    if (from->SetFromUserInput(options.source_srs.c_str()) != OGRERR_NONE) {
      return Fail(ErrorCode::kInvalidArgument,
                  "--s-srs " + options.source_srs +
                      " is not a CRS GDAL knows; give it as EPSG:NNNN, e.g. "
                      "EPSG:4490 (CGCS2000 lon/lat) or EPSG:4525 (CGCS2000 "
                      "3-degree Gauss-Kruger zone 37)",
                  "s-srs");
    }
  } else if (const OGRSpatialReference* declared = layer->GetSpatialRef()) {
    from.emplace(*declared);
  }
  const bool wgs84_format = result.driver == "GeoJSON" ||
                            result.driver == "GeoJSONSeq" ||
                            result.driver == "KML" || result.driver == "LIBKML";
  if (!from) {
    // "no .prj" unless there is one that GDAL could not read.
    std::string none = "has no CRS (no .prj)";
    if (!path.starts_with("/vsi") && AsciiLower(path).ends_with(".shp")) {
      for (const char* ext : {".prj", ".PRJ"}) {
        std::filesystem::path prj = path;
        prj.replace_extension(ext);
        if (std::filesystem::exists(prj)) {
          none = "has no CRS: its " + ValidUtf8(prj.filename().string()) +
                 " is empty or not a CRS GDAL reads (damaged?)";
        }
      }
    }
    OGREnvelope extent;
    bool has_extent = layer->GetExtent(&extent, TRUE) == OGRERR_NONE;
    if (has_extent && !LooksLikeDegrees(extent) &&
        !(wgs84_format || options.assume_wgs84)) {
      return Fail(ErrorCode::kInvalidArgument,
                  file + ": " + none + ", and its coordinates, e.g. " +
                      CoordinateText(extent.MinX, extent.MinY) +
                      ", are projected metres, not degrees. Give the CRS "
                      "they were drawn in with --s-srs, e.g. " +
                      GuessGaussKruger(extent.MinX) +
                      ", or save the file with its .prj",
                  "s-srs");
    }
    if (!(wgs84_format || options.assume_wgs84)) {
      return Fail(ErrorCode::kInvalidArgument,
                  file + ": " + none +
                      ", so its coordinates cannot be "
                      "placed. Give the CRS with --s-srs, e.g. EPSG:4326 "
                      "(WGS84 lon/lat) or EPSG:4490 (CGCS2000 lon/lat), or "
                      "save the file with its .prj",
                  "s-srs");
    }
    converter.wgs84_by_definition = true;
    result.crs = "EPSG:4326 (WGS 84, by definition of the format)";
  } else {
    result.crs = DescribeCrs(*from);
    OGREnvelope extent;
    // (The extent only for such a CRS: a format without one in its header
    // reads the whole layer for it.)
    if (TransverseMercator(*from) &&
        layer->GetExtent(&extent, TRUE) == OGRERR_NONE) {
      if (auto fix = ZonePrefixFix(*from, extent)) {
        return Fail(ErrorCode::kInvalidArgument,
                    file + ": 坐标带号与坐标系不符 / " + fix->why + ": " +
                        (options.source_srs.empty() ? "its .prj says "
                                                    : "--s-srs gives ") +
                        result.crs + ". Give --s-srs " + fix->meant +
                        " (the same CRS " +
                        (fix->adds_prefix ? "with" : "without") +
                        " the prefix), or save the file with the right .prj",
                    "s-srs");
      }
    }
  }
  std::unique_ptr<OGRCoordinateTransformation> transform;
  if (from) converter.geographic_source = from->IsGeographic();
  if (from) {
    from->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    if (!from->IsSame(&wgs84)) {
      CPLErrorReset();
      transform.reset(OGRCreateCoordinateTransformation(&*from, &wgs84));
      if (!transform) {
        return Fail(ErrorCode::kInvalidArgument,
                    file + ": its CRS " + result.crs +
                        " cannot be converted to WGS84 (" +
                        CPLGetLastErrorMsg() +
                        "); give the right one with "
                        "--s-srs");
      }
    }
  }

  // Text encoding, as the driver decoded it.
  std::string source_encoding;
  if (const char* e = layer->GetMetadataItem("SOURCE_ENCODING", "SHAPEFILE")) {
    source_encoding = e;
  }
  const bool is_shapefile = result.driver == "ESRI Shapefile";
  bool has_cpg = false;
  if (is_shapefile) {
    const char* cpg = layer->GetMetadataItem("ENCODING_FROM_CPG", "SHAPEFILE");
    has_cpg = cpg && *cpg;
  }
  if (!options.encoding.empty()) {
    result.encoding = options.encoding + " (--encoding)";
  } else if (is_shapefile && has_cpg) {
    result.encoding = source_encoding + " (.cpg)";
  } else if (is_shapefile && !source_encoding.empty()) {
    result.encoding = source_encoding + " (DBF code page)";
  } else {
    result.encoding = "UTF-8";
  }
  // A declared encoding other than UTF-8 (a .cpg, the DBF's code page or
  // --encoding) over text that is UTF-8 reads as valid but garbled text
  // (太要 as 澶瑕). A sample of the undecoded text is checked.
  std::string declared = !options.encoding.empty() ? options.encoding
                         : is_shapefile            ? source_encoding
                                                   : "";
  std::string declared_key = AsciiLower(declared);
  std::erase_if(declared_key, [](char ch) { return ch == '-' || ch == '_'; });
  const bool declared_other = !declared.empty() && declared_key != "utf8";
  constexpr int kEncodingSample = 1000;
  int sampled = 0, sampled_utf8 = 0;  // non-ASCII values; of them UTF-8
  std::string garbled_example;
  auto sample_raw = [&](const std::string& raw) {
    if (!declared_other || sampled >= kEncodingSample ||
        std::all_of(raw.begin(), raw.end(), [](char ch) {
          return static_cast<unsigned char>(ch) < 0x80;
        })) {
      return;
    }
    ++sampled;
    if (!IsUtf8(raw)) return;
    ++sampled_utf8;
    if (garbled_example.empty()) {
      char* read = CPLRecode(raw.c_str(), declared.c_str(), CPL_ENC_UTF8);
      garbled_example = "`" + raw + "` would be stored as `" +
                        ValidUtf8(read ? read : "") + "`";
      CPLFree(read);
    }
  };
  auto text_of = [&](OGRFeature& f, int i) {
    std::string s = f.GetFieldAsString(i);
    if (recode_here) {
      sample_raw(s);
      char* r = CPLRecode(s.c_str(), options.encoding.c_str(), CPL_ENC_UTF8);
      s = r;
      CPLFree(r);
    }
    return s;
  };

  // Fields: ours -> the source's.
  OGRFeatureDefn* defn = layer->GetLayerDefn();
  std::vector<std::string> required =
      options.required ? *options.required : RequiredFields(options.layer);
  auto source_field = [&](const std::string& ours) -> std::string {
    if (ours == "code") return options.fields.code;
    if (ours == "name") return options.fields.name;
    if (ours == "village") return options.fields.village;
    if (ours == "branch") return options.fields.branch;
    if (ours == "leader") return options.fields.leader;
    return ours;
  };
  // A field's name as text: a UTF-8 name that the DBF's 10-byte limit cut
  // in the middle of a character is not UTF-8 any more.
  auto field_name = [&](int i) {
    return ValidUtf8(defn->GetFieldDefn(i)->GetNameRef());
  };
  auto field_list = [&] {
    std::string s;
    for (int i = 0; i < defn->GetFieldCount(); ++i) {
      s += (s.empty() ? "" : ", ") + field_name(i);
    }
    return s.empty() ? std::string("none") : s;
  };
  std::map<std::string, int> index_of;  // our attribute -> source field
  for (const char* ours : {"code", "name", "village", "branch", "leader"}) {
    index_of[ours] = defn->GetFieldIndex(source_field(ours).c_str());
  }
  for (const std::string& ours : required) {
    index_of[ours] = defn->GetFieldIndex(source_field(ours).c_str());
  }
  std::vector<std::string> missing;
  if (index_of["code"] < 0) missing.push_back("code");
  for (const std::string& ours : required) {
    if (index_of[ours] < 0 && ours != "code") missing.push_back(ours);
  }
  for (const std::string& ours : missing) {
    std::string theirs = source_field(ours);
    std::string flag =
        ours == "code" || ours == "name" || ours == "village" ||
                ours == "branch" || ours == "leader"
            ? " or name the field that holds it with --" + ours + "-field"
            : "";
    result.problems.push_back(
        {"", "missing_field",
         file + ": has no `" + theirs +
             "` attribute; add the field and fill it for every feature" + flag +
             ". Its fields are: " + field_list(),
         std::nullopt, 0, ours});
  }
  // GDAL finds fields regardless of case and takes the first: with `code`
  // and `CODE` both there, which one is read depends on their order.
  for (const auto& [ours, i] : index_of) {
    if (i < 0) continue;
    std::string lower = AsciiLower(defn->GetFieldDefn(i)->GetNameRef());
    for (int k = 0; k < defn->GetFieldCount(); ++k) {
      if (k == i || AsciiLower(defn->GetFieldDefn(k)->GetNameRef()) != lower) {
        continue;
      }
      result.problems.push_back(
          {"", "ambiguous_field",
           file + ": has fields `" + field_name(std::min(i, k)) + "` and `" +
               field_name(std::max(i, k)) +
               "`, which differ only in case, and reads `" + ours +
               "` from one of them; rename or delete the other and export "
               "again",
           std::nullopt, 0, ours});
      break;
    }
  }
  const int code_index = index_of["code"];

  // Features.
  std::vector<Deferred> deferred;  // polygons to clean and normalise
  std::unordered_map<std::string, int> first_position;
  std::string bad_text_where;  // first text that is not UTF-8
  layer->ResetReading();
  int position = 0;
  for (auto& feature : *layer) {
    ++position;
    ++result.features_read;
    std::string code =
        code_index >= 0 && feature->IsFieldSetAndNotNull(code_index)
            ? text_of(*feature, code_index)
            : "";
    const std::string code_problem = CodeProblem(code);
    std::string id = code.empty()           ? "#" + std::to_string(position)
                     : code_problem.empty() ? code
                                            : Shown(code);
    std::string who = file + ", feature " + id;
    auto problem = [&](std::string kind, std::string message,
                       std::optional<LonLat> where = std::nullopt,
                       std::string other = {}) {
      result.problems.push_back({id, std::move(kind),
                                 who + ": " + std::move(message), where, 0,
                                 std::move(other)});
    };
    std::map<std::string, std::string> attributes;
    for (int i = 0; i < defn->GetFieldCount(); ++i) {
      if (!feature->IsFieldSetAndNotNull(i)) continue;
      std::string value = text_of(*feature, i);
      if (!IsUtf8(value) && bad_text_where.empty()) {
        bad_text_where = "field `" + field_name(i) + "` of feature #" +
                         std::to_string(position) + " (bytes " +
                         HexBytes(value) + ")";
      }
      if (i == code_index) continue;
      attributes[field_name(i)] = value;
    }
    for (const auto& [ours, i] : index_of) {
      if (ours == "code" || i < 0) continue;
      if (feature->IsFieldSetAndNotNull(i)) {
        attributes[ours] = text_of(*feature, i);
      }
    }
    bool ok = true;
    if (code_index >= 0 && code.empty()) {
      problem("missing_code",
              "has no `code`; every feature needs a unique code");
      ok = false;
    } else if (!code.empty() && !code_problem.empty()) {
      problem("bad_code",
              "its code `" + Shown(code) + "` " + code_problem +
                  "; a code is 1-64 ASCII letters, digits, '-', '_' or '.', "
                  "e.g. 610522102002001. Clean the column (spreadsheets "
                  "leave spaces and line breaks) and export again");
      ok = false;
    }
    for (const std::string& ours : required) {
      if (index_of[ours] < 0) continue;  // reported once for the layer
      auto it = attributes.find(ours);
      if (it == attributes.end() || IsBlank(it->second)) {
        problem("missing_value",
                "has no `" + source_field(ours) + "` value; fill it in", {},
                ours);
        ok = false;
      }
    }
    for (const char* ours : {"name", "village", "branch", "leader"}) {
      auto it = attributes.find(ours);
      if (it != attributes.end() && HasControl(it->second)) {
        problem("bad_text",
                "its `" + source_field(ours) + "` value `" +
                    ValidUtf8(Shown(it->second, false)) +
                    "` holds a control character (a NUL ends the text "
                    "wherever it is stored); retype it",
                {}, ours);
        ok = false;
      }
    }
    if (!code.empty()) {
      auto [it, fresh] = first_position.emplace(code, position);
      if (!fresh) {
        problem("duplicate_code", "its code is also used by feature #" +
                                      std::to_string(it->second) +
                                      " (this is #" + std::to_string(position) +
                                      "); every feature needs a unique code");
        ok = false;
      }
    }

    // Reprojected on a copy; read in place when there is nothing to do.
    const OGRGeometry* geometry = feature->GetGeometryRef();
    std::unique_ptr<OGRGeometry> reprojected;
    if (geometry && transform) {
      reprojected.reset(geometry->clone());
      geometry = reprojected.get();
      if (reprojected->transform(transform.get()) != OGRERR_NONE) {
        problem("bad_coordinate",
                "cannot be reprojected from " + result.crs +
                    " to WGS84; check the CRS (.prj or --s-srs)");
        continue;
      }
    }
    std::string kind;
    if (points) {
      auto at = converter.ConvertPointGeometry(geometry, kind);
      if (!at) {
        problem(kind, at.error().message);
        continue;
      }
      if (!ok) continue;
      PointFeature p;
      p.code = code;
      p.attributes = std::move(attributes);
      p.name = p.Attribute("name");
      p.at = *at;
      result.points.push_back(std::move(p));
      continue;
    }
    ImportRepairs converted;
    auto shape = converter.ConvertShape(geometry, kind, converted);
    if (!shape) {
      std::string message = shape.error().message;
      if (kind == "empty_geometry" && result.driver == "CSV") {
        // GDAL reads a WKT it cannot parse as no geometry.
        message +=
            " (or its WKT could not be read: check the row's WKT "
            "column, e.g. POLYGON ((110.1 34.5, 110.2 34.5, ...)))";
      }
      problem(kind, message);
      continue;
    }
    size_t vertices = 0;
    for (const Polygon& part : shape->parts) {
      for (const Ring& ring : part.rings) vertices += ring.size();
    }
    if (vertices > kMaxVertices) {
      problem("too_many_vertices",
              "has " + std::to_string(vertices) + " vertices, more than " +
                  std::to_string(kMaxVertices) +
                  " (a whole county's outline has about 1,400); simplify it "
                  "(QGIS: Vector > Geometry Tools > Simplify, or ogr2ogr "
                  "-simplify) and export again");
      continue;
    }
    // Cleaned and normalised below, on all cores.
    Deferred d{result.problems.size(), id, who, ok};
    d.feature.code = code;
    d.feature.attributes = std::move(attributes);
    d.feature.shape = std::move(*shape);
    d.repairs = converted;
    deferred.push_back(std::move(d));
  }
  RepairAll(deferred);
  // In source order; a feature's geometry problem goes where it would have
  // gone had it been found while reading.
  std::vector<Problem> in_order;
  in_order.reserve(result.problems.size());
  size_t next_problem = 0;
  for (Deferred& d : deferred) {
    while (next_problem < d.problems_at) {
      in_order.push_back(std::move(result.problems[next_problem++]));
    }
    if (d.failed) {
      in_order.push_back(
          {d.id, d.kind, d.who + ": " + d.message, PlaceIn(d.message), 0, {}});
      continue;
    }
    result.repairs += d.repairs;
    if (!d.ok) continue;
    d.feature.name = d.feature.Attribute("name");
    result.features.push_back(std::move(d.feature));
  }
  while (next_problem < result.problems.size()) {
    in_order.push_back(std::move(result.problems[next_problem++]));
  }
  result.problems = std::move(in_order);

  if (gdal_errors.errors() > 0) {
    result.problems.push_back(
        {"", "read_error",
         file + ": GDAL reported " + std::to_string(gdal_errors.errors()) +
             " read error(s), the first: " + gdal_errors.first() +
             ". The file looks damaged or incomplete (a truncated .shp, a "
             "missing .dbf); export it again"});
  }

  if (declared_other && !recode_here && bad_text_where.empty()) {
    // The driver decoded the text: read the sample again undecoded.
    CPLStringList raw_options;
    raw_options.SetNameValue("ENCODING", "");
    GDALDatasetUniquePtr raw(
        GDALDataset::Open(open_path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY,
                          nullptr, raw_options.List(), nullptr));
    OGRLayer* raw_layer = raw ? raw->GetLayerByName(layer->GetName()) : nullptr;
    if (raw_layer) {
      for (auto& f : *raw_layer) {
        for (int i = 0; i < f->GetFieldCount(); ++i) {
          if (f->IsFieldSetAndNotNull(i) &&
              f->GetFieldDefnRef(i)->GetType() == OFTString) {
            sample_raw(f->GetFieldAsString(i));
          }
        }
        if (sampled >= kEncodingSample) break;
      }
    }
  }
  if (bad_text_where.empty() && sampled > 0 && sampled_utf8 == sampled) {
    return Fail(ErrorCode::kInvalidArgument,
                file + ": its text is UTF-8, but it is read as " +
                    result.encoding + ": " + garbled_example +
                    ". 编码声明不符 / the declared encoding is wrong: " +
                    (!options.encoding.empty()
                         ? "run again without --encoding"
                         : "put UTF-8 in the .cpg next to the .dbf (or run "
                           "again with --encoding UTF-8)"),
                "encoding");
  }
  if (!bad_text_where.empty()) {
    std::string why =
        !options.encoding.empty()
            ? "even after decoding it as " + options.encoding +
                  "; try another --encoding (GBK, GB18030, UTF-8)"
        : is_shapefile && !has_cpg && source_encoding.empty()
            ? "and the file declares no encoding (no .cpg next to the "
              ".dbf). Shapefiles from Chinese GIS staff are usually GBK: run "
              "again with --encoding GBK (or add a .cpg file containing GBK)"
            : "although the file declares " +
                  (result.encoding.empty() ? std::string("UTF-8")
                                           : result.encoding) +
                  ". Run again with the real encoding, e.g. --encoding GBK";
    return Fail(ErrorCode::kInvalidArgument,
                file + ": text in " + bad_text_where + " is not UTF-8 " + why,
                "encoding");
  }

  if (options.check_topology && !points) {
    std::vector<Feature> villages;
    bool have_villages = false;
    if (!options.villages_source.empty()) {
      ImportOptions v;
      v.source = options.villages_source;
      v.layer = LayerKind::kVillages;
      v.check_topology = false;
      v.encoding = "";
      auto read = ReadLayer(v);
      if (!read) {
        return std::unexpected(read.error().WithContext("--villages"));
      }
      for (const Problem& p : read->problems) {
        result.problems.push_back({p.feature, "villages_file",
                                   "--villages " + p.message, p.where,
                                   p.area_m2, p.other});
      }
      villages = std::move(read->features);
      have_villages = read->problems.empty();
    }
    CheckLayer(result, have_villages ? &villages : nullptr, options.topology);
  }
  return result;
}

Result<LayerRead> ReadPolygonLayer(const std::string& path,
                                   const std::vector<std::string>& required) {
  ImportOptions options;
  options.source = path;
  options.layer = LayerKind::kZones;  // a polygon layer; no layer checks
  options.required = required;
  options.assume_wgs84 = true;
  options.check_topology = false;
  auto read = ReadLayer(options);
  if (!read) return std::unexpected(read.error());
  if (!read->problems.empty()) {
    const Problem& first = read->problems.front();
    return Fail(ErrorCode::kInvalidArgument, first.message, first.other);
  }
  LayerRead out;
  out.features = std::move(read->features);
  out.repairs.repeated_vertices = read->repairs.repeated_vertices;
  out.repairs.spikes = read->repairs.spikes;
  out.repairs.degenerate_holes = read->repairs.degenerate_holes;
  return out;
}

Result<Shape> ParseWkt(const std::string& wkt) {
  OGRGeometry* parsed = nullptr;
  if (OGRGeometryFactory::createFromWkt(wkt.c_str(), nullptr, &parsed) !=
      OGRERR_NONE) {
    return Fail(ErrorCode::kInvalidArgument, "not valid WKT: " + wkt);
  }
  std::unique_ptr<OGRGeometry> owned(parsed);
  std::string kind;
  ImportRepairs converted;
  return Converter{true}.ConvertShape(owned.get(), kind, converted);
}

Result<Layers> ReadLayersDir(const std::string& dir) {
  namespace fs = std::filesystem;
  Layers layers;
  auto villages =
      ReadPolygonLayer((fs::path(dir) / "villages.geojson").string(), {});
  if (!villages) return std::unexpected(villages.error());
  layers.villages = std::move(villages->features);
  auto cells =
      ReadPolygonLayer((fs::path(dir) / "cells.geojson").string(), {"village"});
  if (!cells) return std::unexpected(cells.error());
  layers.cells = std::move(cells->features);
  fs::path zones_path = fs::path(dir) / "zones.geojson";
  if (fs::exists(zones_path)) {
    auto zones = ReadPolygonLayer(zones_path.string(), {});
    if (!zones) return std::unexpected(zones.error());
    layers.zones = std::move(zones->features);
  }
  return layers;
}

}  // namespace wangge::spatial
