#include "bench/geos_index.h"

#include <geos_c.h>

#include <cstdarg>
#include <cstdio>
#include <string>

namespace wangge::bench {
namespace {

void IgnoreMessage(const char*, void*) {}

GEOSContextHandle_t NewContext() {
  GEOSContextHandle_t ctx = GEOS_init_r();
  GEOSContext_setNoticeMessageHandler_r(ctx, IgnoreMessage, nullptr);
  GEOSContext_setErrorMessageHandler_r(ctx, IgnoreMessage, nullptr);
  return ctx;
}

GEOSGeometry* MakeRing(GEOSContextHandle_t ctx, const spatial::Ring& ring) {
  GEOSCoordSequence* seq =
      GEOSCoordSeq_create_r(ctx, unsigned(ring.size() + 1), 2);
  for (size_t i = 0; i <= ring.size(); ++i) {
    LonLat p = spatial::ToLonLat(ring[i % ring.size()]);
    GEOSCoordSeq_setXY_r(ctx, seq, unsigned(i), p.lon, p.lat);
  }
  return GEOSGeom_createLinearRing_r(ctx, seq);
}

GEOSGeometry* MakeShape(GEOSContextHandle_t ctx, const spatial::Shape& shape) {
  std::vector<GEOSGeometry*> polygons;
  for (const spatial::Polygon& part : shape.parts) {
    if (part.rings.empty()) continue;
    GEOSGeometry* shell = MakeRing(ctx, part.rings[0]);
    std::vector<GEOSGeometry*> holes;
    for (size_t r = 1; r < part.rings.size(); ++r) {
      holes.push_back(MakeRing(ctx, part.rings[r]));
    }
    polygons.push_back(GEOSGeom_createPolygon_r(ctx, shell, holes.data(),
                                                unsigned(holes.size())));
  }
  if (polygons.size() == 1) return polygons[0];
  return GEOSGeom_createCollection_r(ctx, GEOS_MULTIPOLYGON, polygons.data(),
                                     unsigned(polygons.size()));
}

}  // namespace

struct GeosIndex::State {
  GEOSContextHandle_t ctx = nullptr;
  std::vector<GEOSGeometry*> geoms;
  GEOSSTRtree* tree = nullptr;
  ~State() {
    if (tree) GEOSSTRtree_destroy_r(ctx, tree);
    for (GEOSGeometry* g : geoms) GEOSGeom_destroy_r(ctx, g);
    if (ctx) GEOS_finish_r(ctx);
  }
};

namespace {

class QuerierImpl : public GeosIndex::Querier {
 public:
  QuerierImpl(const std::vector<GEOSGeometry*>& geoms, GEOSSTRtree* tree,
              bool prepare_all)
      : ctx_(NewContext()), geoms_(geoms), tree_(tree) {
    prepared_.assign(geoms.size(), nullptr);
    if (prepare_all) {
      for (size_t i = 0; i < geoms.size(); ++i) Prepared(i);
    }
  }
  ~QuerierImpl() override {
    for (const GEOSPreparedGeometry* p : prepared_) {
      if (p) GEOSPreparedGeom_destroy_r(ctx_, p);
    }
    GEOS_finish_r(ctx_);
  }

  int32_t Locate(LonLat p) override {
    GEOSGeometry* point = GEOSGeom_createPointFromXY_r(ctx_, p.lon, p.lat);
    candidates_.clear();
    GEOSSTRtree_query_r(ctx_, tree_, point, Collect, &candidates_);
    int32_t found = -1;
    for (intptr_t c : candidates_) {
      if (GEOSPreparedCovers_r(ctx_, Prepared(size_t(c)), point) == 1) {
        found = int32_t(c);
        break;
      }
    }
    GEOSGeom_destroy_r(ctx_, point);
    return found;
  }

 private:
  static void Collect(void* item, void* userdata) {
    static_cast<std::vector<intptr_t>*>(userdata)->push_back(
        reinterpret_cast<intptr_t>(item) - 1);
  }
  const GEOSPreparedGeometry* Prepared(size_t i) {
    if (!prepared_[i]) prepared_[i] = GEOSPrepare_r(ctx_, geoms_[i]);
    return prepared_[i];
  }

  GEOSContextHandle_t ctx_;
  const std::vector<GEOSGeometry*>& geoms_;
  GEOSSTRtree* tree_;
  std::vector<const GEOSPreparedGeometry*> prepared_;
  std::vector<intptr_t> candidates_;
};

}  // namespace

GeosIndex::GeosIndex(std::unique_ptr<State> state) : state_(std::move(state)) {}
GeosIndex::~GeosIndex() = default;

Result<std::unique_ptr<GeosIndex>> GeosIndex::Build(
    const std::vector<spatial::Feature>& cells) {
  auto state = std::make_unique<State>();
  state->ctx = NewContext();
  state->tree = GEOSSTRtree_create_r(state->ctx, 10);
  for (size_t i = 0; i < cells.size(); ++i) {
    GEOSGeometry* g = MakeShape(state->ctx, cells[i].shape);
    if (!g) {
      return Fail(ErrorCode::kInternal,
                  "GEOS refused cell " + cells[i].code + "; is it valid?");
    }
    state->geoms.push_back(g);
    GEOSSTRtree_insert_r(state->ctx, state->tree, g,
                         reinterpret_cast<void*>(intptr_t(i) + 1));
  }
  // GEOS 3.11 builds the tree on the first query: do it now, on one thread.
  GEOSGeometry* probe = GEOSGeom_createPointFromXY_r(state->ctx, 0, 0);
  GEOSSTRtree_query_r(
      state->ctx, state->tree, probe, [](void*, void*) {}, nullptr);
  GEOSGeom_destroy_r(state->ctx, probe);
  return std::unique_ptr<GeosIndex>(new GeosIndex(std::move(state)));
}

std::unique_ptr<GeosIndex::Querier> GeosIndex::NewQuerier(
    bool prepare_all) const {
  return std::make_unique<QuerierImpl>(state_->geoms, state_->tree,
                                       prepare_all);
}

}  // namespace wangge::bench
