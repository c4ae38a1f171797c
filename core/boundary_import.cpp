#include "core/boundary_import.h"

#include <algorithm>
#include <map>
#include <type_traits>

#include "core/town_config.h"

namespace wangge::core {
namespace {

using spatial::AreaSquareMetres;
using spatial::Feature;

BoundaryDiff Diff(const std::vector<Feature>& before,
                  const std::vector<Feature>& after) {
  BoundaryDiff diff;
  std::map<std::string, const Feature*> old_cells, new_cells;
  for (const Feature& f : before) old_cells[f.code] = &f;
  for (const Feature& f : after) new_cells[f.code] = &f;
  auto same_shape = [](const spatial::Shape& a, const spatial::Shape& b) {
    if (a.parts.size() != b.parts.size()) return false;
    for (size_t i = 0; i < a.parts.size(); ++i) {
      if (a.parts[i].rings != b.parts[i].rings) return false;
    }
    return true;
  };
  // Both maps are in code order: walk them together, so the changes come
  // out by code.
  auto old_it = old_cells.begin();
  auto new_it = new_cells.begin();
  while (old_it != old_cells.end() || new_it != new_cells.end()) {
    if (old_it == old_cells.end() ||
        (new_it != new_cells.end() && new_it->first < old_it->first)) {
      const auto& [code, g] = *new_it++;
      diff.changes.push_back(
          {code, "added", 0, AreaSquareMetres(g->shape), {}});
      continue;
    }
    const auto& [code, f] = *old_it++;
    if (new_it == new_cells.end() || code < new_it->first) {
      diff.changes.push_back(
          {code, "removed", AreaSquareMetres(f->shape), 0, {}});
      continue;
    }
    const Feature* g = (new_it++)->second;
    CellChange change{
        code, "", AreaSquareMetres(f->shape), AreaSquareMetres(g->shape), {}};
    std::map<std::string, std::string> a = f->attributes, b = g->attributes;
    a["name"] = f->name;
    b["name"] = g->name;
    for (const auto& [key, value] : a) {
      auto other = b.find(key);
      if (other == b.end() || other->second != value) {
        change.attributes.push_back(key);
      }
    }
    for (const auto& [key, value] : b) {
      if (!a.count(key)) change.attributes.push_back(key);
    }
    if (!same_shape(f->shape, g->shape)) {
      change.change = "geometry";
    } else if (!change.attributes.empty()) {
      change.change = "attributes";
    } else {
      continue;
    }
    diff.changes.push_back(std::move(change));
  }
  return diff;
}

// Whether two layers hold the same features (code, name, attributes and
// shape or point), in any order.
template <class F>
bool SameFeatures(const std::vector<F>& a, const std::vector<F>& b) {
  if (a.size() != b.size()) return false;
  auto by_code = [](const std::vector<F>& v) {
    std::vector<const F*> out;
    for (const F& f : v) out.push_back(&f);
    std::sort(out.begin(), out.end(),
              [](const F* x, const F* y) { return x->code < y->code; });
    return out;
  };
  auto x = by_code(a), y = by_code(b);
  for (size_t i = 0; i < x.size(); ++i) {
    const F& f = *x[i];
    const F& g = *y[i];
    if (f.code != g.code || f.name != g.name || f.attributes != g.attributes) {
      return false;
    }
    if constexpr (std::is_same_v<F, Feature>) {
      if (f.shape.parts.size() != g.shape.parts.size()) return false;
      for (size_t k = 0; k < f.shape.parts.size(); ++k) {
        if (f.shape.parts[k].rings != g.shape.parts[k].rings) return false;
      }
    } else if (f.at.x != g.at.x || f.at.y != g.at.y) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<ImportOutcome> ImportLayer(Store& store,
                                  const spatial::ImportOptions& options,
                                  const std::string& actor, bool dry_run) {
  auto current = store.LoadLayers(std::nullopt);
  if (!current) return std::unexpected(current.error());
  spatial::ImportOptions read_options = options;
  read_options.check_topology = false;  // checked below against the database
  auto read = spatial::ReadLayer(read_options);
  if (!read) return std::unexpected(read.error());
  ImportOutcome outcome{std::move(*read), std::nullopt, {}};
  spatial::ImportResult& report = outcome.report;
  if (options.check_topology) {
    bool cells = options.layer == spatial::LayerKind::kCells;
    spatial::CheckLayer(report, cells ? &current->layers.villages : nullptr,
                        options.topology);
  }
  if (!report.accepted()) return outcome;

  // The town with the new layer in place must still load. The features are
  // moved, not copied (300,000 cells are hundreds of MB), and moved back
  // into the report before returning.
  spatial::Layers next = std::move(current->layers);
  const char* name = spatial::LayerKindName(options.layer);
  std::vector<spatial::Feature>* slot = nullptr;
  switch (options.layer) {
    case spatial::LayerKind::kVillages:
      slot = &next.villages;
      break;
    case spatial::LayerKind::kCells:
      slot = &next.cells;
      break;
    case spatial::LayerKind::kZones:
      slot = &next.zones;
      break;
    default:
      break;
  }
  std::vector<spatial::Feature> replaced;  // the layer as stored
  if (slot) {
    replaced = std::move(*slot);
    *slot = std::move(report.features);
  }
  auto give_back = [&] {
    if (slot) report.features = std::move(*slot);
  };
  auto config = LoadTownConfig(
      [&](const std::string& file) { return store.ConfigFile(file); }, next,
      options.layer == spatial::LayerKind::kCells ? ConfigChecks::kNewCells
                                                  : ConfigChecks::kStored);
  if (!config) {
    give_back();
    report.problems.push_back(
        {"", "configuration",
         "with this " + std::string(name) +
             " layer the town no longer loads: " + config.error().message,
         std::nullopt, 0, ""});
    return outcome;
  }
  bool cells_layer = options.layer == spatial::LayerKind::kCells;
  outcome.diff = Diff(cells_layer ? replaced : next.cells, next.cells);
  outcome.diff.from = current->version;
  outcome.diff.to = current->version + 1;
  CaseFilter in_changed;
  in_changed.limit = 1 << 30;
  in_changed.reach.emplace();
  for (const CellChange& c : outcome.diff.changes) {
    if (c.change != "added") in_changed.reach->cells.push_back(c.code);
  }
  if (!in_changed.reach->cells.empty()) {
    auto cases = store.ListCases(in_changed);
    if (!cases) {
      give_back();
      return std::unexpected(cases.error());
    }
    for (CaseRecord& c : *cases) {
      if (c.status != "closed" && c.status != "rejected") {
        outcome.affected_cases.push_back(std::move(c));
      }
    }
  }
  bool same = false;
  if (slot) {
    same = SameFeatures(replaced, *slot);
  } else if (options.layer == spatial::LayerKind::kHouseholds) {
    same = SameFeatures(current->households, report.points);
  } else if (options.layer == spatial::LayerKind::kShopfronts) {
    same = SameFeatures(current->shopfronts, report.points);
  }
  if (same) outcome.unchanged = current->version;
  if (dry_run || same) {
    give_back();
    return outcome;
  }

  VersionInput input;
  input.source = report.file;
  input.actor = actor;
  input.note = std::string("import ") + name;
  input.layers.push_back({name, slot ? std::move(*slot) : report.features,
                          std::move(report.points)});
  auto version = store.AddVersion(input);
  report.features = std::move(input.layers[0].polygons);
  report.points = std::move(input.layers[0].points);
  if (!version) return std::unexpected(version.error());
  outcome.version = *version;
  outcome.diff.to = *version;
  return outcome;
}

Result<BoundaryDiff> DiffVersions(Store& store, int64_t from, int64_t to) {
  auto a = store.LoadLayers(from);
  if (!a) return std::unexpected(a.error());
  auto b = store.LoadLayers(to);
  if (!b) return std::unexpected(b.error());
  BoundaryDiff diff = Diff(a->layers.cells, b->layers.cells);
  diff.from = from;
  diff.to = to;
  return diff;
}

}  // namespace wangge::core
