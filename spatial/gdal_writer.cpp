// The translation unit of spatial/ that writes through GDAL: WriteLayer (see
// spatial/layer_writer.h).
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal_priv.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <system_error>

#include "base/code.h"
#include "spatial/layer_writer.h"

namespace wangge::spatial {
namespace {

namespace fs = std::filesystem;

// A DBF text field holds at most 254 bytes.
constexpr size_t kDbfMaxWidth = 254;

// Files that make up a shapefile, besides the .shp itself.
constexpr const char* kShapefileParts[] = {".shx", ".dbf", ".prj", ".cpg"};
// A spatial index left from an older export would no longer fit the .shp.
constexpr const char* kShapefileIndexes[] = {".qix", ".sbn", ".sbx"};

std::string Upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  return s;
}

std::unexpected<Error> Invalid(const std::string& message,
                               const std::string& field) {
  return Fail(ErrorCode::kInvalidArgument, message, field);
}

void RegisterOnce() {
  static std::once_flag once;
  std::call_once(once, [] { GDALAllRegister(); });
}

const char* DriverName(ExportFormat format) {
  switch (format) {
    case ExportFormat::kGeoJson:
      return "GeoJSON";
    case ExportFormat::kGeoPackage:
      return "GPKG";
    case ExportFormat::kShapefile:
      return "ESRI Shapefile";
    case ExportFormat::kCsv:
      return "CSV";
    case ExportFormat::kKml:
      return "KML";
  }
  return "GeoJSON";
}

std::vector<std::string> Extensions(ExportFormat format) {
  switch (format) {
    case ExportFormat::kGeoJson:
      return {".geojson", ".json"};
    case ExportFormat::kGeoPackage:
      return {".gpkg"};
    case ExportFormat::kShapefile:
      return {".shp"};
    case ExportFormat::kCsv:
      return {".csv"};
    case ExportFormat::kKml:
      return {".kml"};
  }
  return {};
}

// "" for UTF-8, "GBK" for GBK; nullopt for anything else.
std::optional<std::string> NormalizeEncoding(const std::string& encoding) {
  std::string e = Upper(encoding);
  if (e.empty() || e == "UTF-8" || e == "UTF8") return std::string();
  if (e == "GBK" || e == "CP936") return std::string("GBK");
  return std::nullopt;
}

// GDAL's messages while a ScopedCollector is alive on this thread.
struct GdalMessages {
  std::vector<std::string> failures;
  std::vector<std::string> warnings;

  std::string LastFailure() const {
    return failures.empty() ? std::string("GDAL gave no reason")
                            : failures.back();
  }
};

void CPL_STDCALL CollectMessage(CPLErr level, CPLErrorNum, const char* text) {
  auto* messages = static_cast<GdalMessages*>(CPLGetErrorHandlerUserData());
  if (messages == nullptr || text == nullptr) return;
  if (level == CE_Failure || level == CE_Fatal) {
    messages->failures.emplace_back(text);
  } else if (level == CE_Warning) {
    messages->warnings.emplace_back(text);
  }
}

class ScopedCollector {
 public:
  explicit ScopedCollector(GdalMessages& messages) {
    CPLPushErrorHandlerEx(CollectMessage, &messages);
  }
  ~ScopedCollector() { CPLPopErrorHandler(); }
  ScopedCollector(const ScopedCollector&) = delete;
  ScopedCollector& operator=(const ScopedCollector&) = delete;
};

struct DatasetCloser {
  void operator()(GDALDataset* ds) const { GDALClose(ds); }
};
using DatasetPtr = std::unique_ptr<GDALDataset, DatasetCloser>;

// Parses a CRS the user gave, with traditional GIS axis order.
Result<OGRSpatialReference> ParseSrs(const std::string& text) {
  OGRSpatialReference srs;
  GdalMessages messages;
  ScopedCollector collect(messages);
  if (srs.SetFromUserInput(
          text.c_str(),
          OGRSpatialReference::SET_FROM_USER_INPUT_LIMITATIONS_get()) !=
      OGRERR_NONE) {
    return Invalid("--t-srs " + text +
                       " is not a CRS GDAL knows; give it as EPSG:NNNN, e.g. "
                       "EPSG:4525 (CGCS2000 3-degree Gauss-Kruger zone 37) or "
                       "EPSG:4490 (CGCS2000 lon/lat)",
                   "t-srs");
  }
  srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

OGRSpatialReference Wgs84() {
  OGRSpatialReference srs;
  srs.importFromEPSG(4326);
  srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

// The field names: code, name, then every other attribute in key order.
template <class F>
std::vector<std::string> FieldNames(const std::vector<F>& features) {
  std::set<std::string> others;
  for (const F& f : features) {
    for (const auto& [key, value] : f.attributes) {
      if (key != "code" && key != "name") others.insert(key);
    }
  }
  std::vector<std::string> names = {"code", "name"};
  names.insert(names.end(), others.begin(), others.end());
  return names;
}

template <class F>
std::string ValueOf(const F& f, size_t field, const std::string& name) {
  if (field == 0) return f.code;
  if (field == 1) return f.name;
  return f.Attribute(name);
}

// `text` as the DBF will hold it; nullopt when `encoding` cannot hold it.
std::optional<std::string> Encode(const std::string& text,
                                  const std::string& encoding) {
  if (encoding.empty()) return text;
  char* out = CPLRecode(text.c_str(), CPL_ENC_UTF8, encoding.c_str());
  std::string encoded = out ? out : "";
  CPLFree(out);
  char* back = CPLRecode(encoded.c_str(), encoding.c_str(), CPL_ENC_UTF8);
  bool same = back && text == back;
  CPLFree(back);
  if (!same) return std::nullopt;
  return encoded;
}

template <class F>
std::string Label(const F& f, size_t index) {
  return f.code.empty() ? "#" + std::to_string(index + 1) : f.code;
}

// DBF field widths in bytes of `encoding`; fails for text it cannot hold.
template <class F>
Result<std::vector<int>> DbfWidths(const std::vector<F>& features,
                                   const std::vector<std::string>& fields,
                                   const std::string& encoding,
                                   const std::string& file) {
  std::vector<int> widths(fields.size(), 1);
  for (size_t i = 0; i < features.size(); ++i) {
    for (size_t k = 0; k < fields.size(); ++k) {
      std::string value = ValueOf(features[i], k, fields[k]);
      auto encoded = Encode(value, encoding);
      if (!encoded) {
        return Invalid(file + ", feature " + Label(features[i], i) + ": " +
                           fields[k] + " \"" + value + "\" has characters " +
                           encoding +
                           " cannot hold; export with --encoding UTF-8",
                       "encoding");
      }
      if (encoded->size() > kDbfMaxWidth) {
        return Invalid(file + ", feature " + Label(features[i], i) + ": " +
                           fields[k] + " is " +
                           std::to_string(encoded->size()) +
                           " bytes long, more than a shapefile's DBF holds "
                           "(254); export as gpkg instead",
                       "format");
      }
      widths[k] = std::max(widths[k], static_cast<int>(encoded->size()));
    }
  }
  return widths;
}

std::unique_ptr<OGRGeometry> MakeGeometry(const Pt& p) {
  LonLat ll = ToLonLat(p);
  return std::make_unique<OGRPoint>(ll.lon, ll.lat);
}

std::unique_ptr<OGRPolygon> MakePolygon(const Polygon& polygon) {
  auto out = std::make_unique<OGRPolygon>();
  for (const Ring& ring : polygon.rings) {
    auto r = std::make_unique<OGRLinearRing>();
    r->setNumPoints(static_cast<int>(ring.size()) + 1);
    for (size_t i = 0; i <= ring.size(); ++i) {
      LonLat ll = ToLonLat(ring[i % ring.size()]);  // repeat the first
      r->setPoint(static_cast<int>(i), ll.lon, ll.lat);
    }
    out->addRingDirectly(r.release());
  }
  return out;
}

std::unique_ptr<OGRGeometry> MakeGeometry(const Shape& shape, bool multi) {
  if (!multi && shape.parts.size() == 1) return MakePolygon(shape.parts[0]);
  auto out = std::make_unique<OGRMultiPolygon>();
  for (const Polygon& part : shape.parts) {
    out->addGeometryDirectly(MakePolygon(part).release());
  }
  return out;
}

// Writes the layer into `file` (inside the temporary folder).
template <class F, class ShapeOf>
Result<int> WriteFeatures(const fs::path& file, const std::string& shown,
                          const WriteOptions& options,
                          const std::string& encoding,
                          const std::vector<F>& features,
                          OGRwkbGeometryType type, ShapeOf shape_of,
                          GdalMessages& messages) {
  const bool shapefile = options.format == ExportFormat::kShapefile;
  std::vector<std::string> fields = FieldNames(features);
  std::vector<int> widths(fields.size(), 0);
  if (shapefile) {
    WANGGE_ASSIGN_OR_RETURN(widths,
                            DbfWidths(features, fields, encoding, shown));
  }

  OGRSpatialReference wgs84 = Wgs84();
  OGRSpatialReference target = wgs84;
  std::unique_ptr<OGRCoordinateTransformation> transform;
  if (!options.target_srs.empty()) {
    WANGGE_ASSIGN_OR_RETURN(target, ParseSrs(options.target_srs));
    transform.reset(OGRCreateCoordinateTransformation(&wgs84, &target));
    if (!transform) {
      return Invalid(shown + ": cannot reproject from WGS84 to --t-srs " +
                         options.target_srs + " (" + messages.LastFailure() +
                         "); give another CRS",
                     "t-srs");
    }
  }

  GDALDriver* driver =
      GetGDALDriverManager()->GetDriverByName(DriverName(options.format));
  if (options.format == ExportFormat::kKml) {
    // GDAL reads .kml with LIBKML when it has it, and LIBKML misreads the
    // attributes of what the plain KML driver writes: write with LIBKML too.
    if (GDALDriver* libkml =
            GetGDALDriverManager()->GetDriverByName("LIBKML")) {
      driver = libkml;
    }
  }
  if (driver == nullptr) {
    return Fail(ErrorCode::kUnavailable,
                shown + ": this GDAL has no " +
                    std::string(DriverName(options.format)) +
                    " driver; install gdal-bin's full libgdal or pick another "
                    "--format");
  }
  DatasetPtr ds(
      driver->Create(file.string().c_str(), 0, 0, 0, GDT_Unknown, nullptr));
  if (!ds) {
    return Fail(ErrorCode::kUnavailable,
                shown + ": cannot create it (" + messages.LastFailure() +
                    "); check that the folder is writable");
  }

  CPLStringList layer_options;
  std::string layer_name = LayerKindName(options.layer);
  switch (options.format) {
    case ExportFormat::kGeoJson:
      // 17 significant digits give back the very same double, so the
      // nearest nanodegree too. (COORDINATE_PRECISION=9 is not enough: GDAL
      // trims 34.466000002 to 34.466, taking "00000" for round-off noise.)
      layer_options.SetNameValue("SIGNIFICANT_FIGURES", "17");
      break;
    case ExportFormat::kShapefile:
      layer_options.SetNameValue("ENCODING",
                                 encoding.empty() ? "UTF-8" : encoding.c_str());
      layer_name = file.stem().string();
      break;
    case ExportFormat::kCsv:
      layer_options.SetNameValue("GEOMETRY", "AS_WKT");
      layer_name = file.stem().string();
      break;
    case ExportFormat::kGeoPackage:
    case ExportFormat::kKml:
      break;
  }
  OGRLayer* layer =
      ds->CreateLayer(layer_name.c_str(), &target, type, layer_options.List());
  if (layer == nullptr) {
    return Fail(ErrorCode::kUnavailable, shown + ": cannot create layer " +
                                             layer_name + " (" +
                                             messages.LastFailure() + ")");
  }
  for (size_t k = 0; k < fields.size(); ++k) {
    OGRFieldDefn field(fields[k].c_str(), OFTString);
    field.SetWidth(widths[k]);
    if (layer->CreateField(&field) != OGRERR_NONE) {
      return Fail(ErrorCode::kUnavailable, shown + ": cannot create field " +
                                               fields[k] + " (" +
                                               messages.LastFailure() + ")");
    }
  }

  const bool transaction = ds->StartTransaction(FALSE) == OGRERR_NONE;
  int written = 0;
  for (size_t i = 0; i < features.size(); ++i) {
    const F& f = features[i];
    OGRFeature feature(layer->GetLayerDefn());
    for (size_t k = 0; k < fields.size(); ++k) {
      feature.SetField(static_cast<int>(k), ValueOf(f, k, fields[k]).c_str());
    }
    std::unique_ptr<OGRGeometry> geometry = shape_of(f);
    geometry->assignSpatialReference(&wgs84);
    if (transform && geometry->transform(transform.get()) != OGRERR_NONE) {
      return Invalid(shown + ", feature " + Label(f, i) +
                         ": cannot be reprojected to --t-srs " +
                         options.target_srs +
                         "; give a CRS that covers the town",
                     "t-srs");
    }
    feature.SetGeometryDirectly(geometry.release());
    if (layer->CreateFeature(&feature) != OGRERR_NONE) {
      return Fail(ErrorCode::kUnavailable, shown + ", feature " + Label(f, i) +
                                               ": cannot be written (" +
                                               messages.LastFailure() + ")");
    }
    ++written;
  }
  if (transaction && ds->CommitTransaction() != OGRERR_NONE) {
    return Fail(ErrorCode::kUnavailable, shown + ": cannot commit (" +
                                             messages.LastFailure() +
                                             "); check the free disk space");
  }
  size_t failures_before_close = messages.failures.size();
  ds.reset();  // flushes and closes
  if (messages.failures.size() > failures_before_close) {
    return Fail(ErrorCode::kUnavailable, shown + ": writing failed (" +
                                             messages.LastFailure() +
                                             "); check the free disk space");
  }
  return written;
}

// The paths a write to `path` may replace, main file first.
std::vector<fs::path> Targets(const fs::path& path, ExportFormat format) {
  std::vector<fs::path> out = {path};
  if (format == ExportFormat::kShapefile) {
    for (const char* ext : kShapefileParts) {
      out.push_back(fs::path(path).replace_extension(ext));
    }
  }
  return out;
}

// A fresh hidden folder next to `path`.
Result<fs::path> MakeTempFolder(const fs::path& path) {
  std::random_device rd;
  for (int attempt = 0; attempt < 8; ++attempt) {
    fs::path dir =
        path.parent_path() / ("." + path.filename().string() + ".tmp-" +
                              std::to_string(rd()) + std::to_string(rd()));
    std::error_code ec;
    if (fs::create_directory(dir, ec)) return dir;
    if (ec) {
      return Fail(ErrorCode::kUnavailable,
                  path.string() + ": cannot create a temporary folder in " +
                      path.parent_path().string() + " (" + ec.message() +
                      "); check that the folder is writable");
    }
  }
  return Fail(ErrorCode::kInternal,
              path.string() + ": no free temporary folder name");
}

class TempFolder {
 public:
  explicit TempFolder(fs::path dir) : dir_(std::move(dir)) {}
  ~TempFolder() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

}  // namespace

const char* ExportFormatName(ExportFormat format) {
  switch (format) {
    case ExportFormat::kGeoJson:
      return "geojson";
    case ExportFormat::kGeoPackage:
      return "gpkg";
    case ExportFormat::kShapefile:
      return "shp";
    case ExportFormat::kCsv:
      return "csv";
    case ExportFormat::kKml:
      return "kml";
  }
  return "geojson";
}

Result<ExportFormat> ParseExportFormat(std::string_view name) {
  std::string lower = AsciiLower(std::string(name));
  for (ExportFormat f :
       {ExportFormat::kGeoJson, ExportFormat::kGeoPackage,
        ExportFormat::kShapefile, ExportFormat::kCsv, ExportFormat::kKml}) {
    if (lower == ExportFormatName(f)) return f;
  }
  return Invalid("--format " + std::string(name) +
                     " is not one we write; give geojson, gpkg, shp, csv or "
                     "kml",
                 "format");
}

Result<void> CheckWriteOptions(const WriteOptions& options) {
  const char* format = ExportFormatName(options.format);
  if (options.path.empty()) return Invalid("--out is required", "out");
  fs::path path(options.path);
  std::vector<std::string> extensions = Extensions(options.format);
  std::string ext = AsciiLower(path.extension().string());
  if (std::find(extensions.begin(), extensions.end(), ext) ==
      extensions.end()) {
    return Invalid("--out " + options.path + ": a " + format +
                       " export needs a name ending in " + extensions[0] +
                       ", e.g. " + LayerKindName(options.layer) + extensions[0],
                   "out");
  }
  auto encoding = NormalizeEncoding(options.encoding);
  if (!encoding) {
    return Invalid("--encoding " + options.encoding +
                       " is not one we write; give GBK or UTF-8",
                   "encoding");
  }
  if (!encoding->empty() && options.format != ExportFormat::kShapefile) {
    return Invalid(std::string("--encoding ") + options.encoding + ": only a " +
                       "shapefile's DBF can be written in GBK; a " + format +
                       " file is always UTF-8. Leave out --encoding or use "
                       "--format shp",
                   "encoding");
  }
  if (!options.target_srs.empty()) {
    switch (options.format) {
      case ExportFormat::kGeoJson:
      case ExportFormat::kKml:
        return Invalid(std::string("--t-srs ") + options.target_srs + ": a " +
                           format +
                           " file is WGS84 lon/lat by definition; leave out "
                           "--t-srs, or export as gpkg or shp to get " +
                           options.target_srs,
                       "t-srs");
      case ExportFormat::kCsv:
        return Invalid("--t-srs " + options.target_srs +
                           ": a csv file has nowhere to record its CRS, so "
                           "its coordinates could not be placed again; leave "
                           "out --t-srs (WGS84 lon/lat), or export as gpkg "
                           "or shp to get " +
                           options.target_srs,
                       "t-srs");
      case ExportFormat::kGeoPackage:
      case ExportFormat::kShapefile:
        break;
    }
    RegisterOnce();
    auto srs = ParseSrs(options.target_srs);
    if (!srs) return std::unexpected(srs.error());
  }
  return {};
}

Result<Written> WriteLayer(const WriteOptions& options,
                           const std::vector<Feature>& polygons,
                           const std::vector<PointFeature>& points) {
  RegisterOnce();
  if (auto ok = CheckWriteOptions(options); !ok) {
    return std::unexpected(ok.error());
  }
  const std::string encoding = *NormalizeEncoding(options.encoding);
  fs::path path = fs::absolute(fs::path(options.path));
  const std::string shown = options.path;

  std::error_code ec;
  if (!fs::is_directory(path.parent_path(), ec)) {
    return Fail(ErrorCode::kNotFound,
                shown + ": the folder " + path.parent_path().string() +
                    " does not exist; create it first or choose another --out",
                "out");
  }
  std::vector<fs::path> targets = Targets(path, options.format);
  for (const fs::path& target : targets) {
    if (fs::is_directory(target, ec)) {
      return Fail(ErrorCode::kConflict,
                  target.string() + " is a folder; choose another --out",
                  "out");
    }
    if (fs::exists(target, ec) && !options.overwrite) {
      return Fail(ErrorCode::kConflict,
                  target.string() +
                      " already exists; pass --force to replace it or choose "
                      "another --out",
                  "out");
    }
  }

  WANGGE_ASSIGN_OR_RETURN(fs::path temp_dir, MakeTempFolder(path));
  TempFolder temp(temp_dir);
  fs::path temp_file = temp.dir() / path.filename();

  GdalMessages messages;
  Result<int> written = 0;
  {
    ScopedCollector collect(messages);
    if (IsPointLayer(options.layer)) {
      written = WriteFeatures(
          temp_file, shown, options, encoding, points, wkbPoint,
          [](const PointFeature& f) { return MakeGeometry(f.at); }, messages);
    } else {
      bool multi = std::any_of(
          polygons.begin(), polygons.end(),
          [](const Feature& f) { return f.shape.parts.size() != 1; });
      written = WriteFeatures(
          temp_file, shown, options, encoding, polygons,
          multi ? wkbMultiPolygon : wkbPolygon,
          [multi](const Feature& f) { return MakeGeometry(f.shape, multi); },
          messages);
    }
  }
  if (!written) return std::unexpected(written.error());

  // Move every file GDAL made into place, the main file last.
  std::vector<fs::path> made;
  for (const auto& entry : fs::directory_iterator(temp.dir(), ec)) {
    if (entry.path().filename() != path.filename())
      made.push_back(entry.path());
  }
  std::sort(made.begin(), made.end());
  made.push_back(temp_file);
  if (!fs::exists(temp_file, ec)) {
    return Fail(ErrorCode::kInternal,
                shown + ": GDAL reported success but wrote no file");
  }
  for (const fs::path& from : made) {
    fs::path to = path.parent_path() / from.filename();
    if (fs::exists(to, ec) && !options.overwrite) {
      return Fail(ErrorCode::kConflict,
                  to.string() +
                      " already exists; pass --force to replace it or choose "
                      "another --out",
                  "out");
    }
  }
  Written result;
  result.features = *written;
  result.warnings = messages.warnings;
  if (options.format == ExportFormat::kShapefile) {
    // Old sidecars this export does not write would describe another file.
    for (const char* ext : kShapefileIndexes) {
      fs::remove(fs::path(path).replace_extension(ext), ec);
    }
    for (const char* ext : kShapefileParts) {
      fs::path old = fs::path(path).replace_extension(ext);
      if (!fs::exists(temp.dir() / old.filename(), ec)) fs::remove(old, ec);
    }
  }
  for (const fs::path& from : made) {
    fs::path to = path.parent_path() / from.filename();
    fs::rename(from, to, ec);
    if (ec) {
      return Fail(ErrorCode::kUnavailable,
                  to.string() + ": cannot move the export into place (" +
                      ec.message() + "); check the folder's permissions");
    }
    result.files.push_back(to.string());
  }
  std::rotate(result.files.rbegin(), result.files.rbegin() + 1,
              result.files.rend());
  return result;
}

}  // namespace wangge::spatial
