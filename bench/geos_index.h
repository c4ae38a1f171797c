#pragma once
// GeosIndex: the cells of a layer in GEOS (C API), the way a GEOS user would
// locate points: an STRtree of envelopes, then GEOSPreparedCovers on the
// candidates. For benchmarks only; GEOS headers stay in bench/*.cpp.
//
// The geometries and the tree are shared read-only; each thread queries
// through its own Querier (own GEOS context and prepared geometries, since
// prepared geometries build their inner indexes lazily and are not safe to
// share). The tree is built before Build returns.
//
//   auto index = GeosIndex::Build(cells);
//   auto querier = (*index)->NewQuerier();
//   int32_t cell = querier->Locate({110.24, 34.52});  // -1: outside

#include <cstdint>
#include <memory>
#include <vector>

#include "base/lon_lat.h"
#include "base/result.h"
#include "spatial/feature.h"

namespace wangge::bench {

class GeosIndex {
 public:
  // Cell i of the answer is cells[i]. Fails with kInternal if GEOS refuses
  // a geometry.
  static Result<std::unique_ptr<GeosIndex>> Build(
      const std::vector<spatial::Feature>& cells);
  ~GeosIndex();

  class Querier {
   public:
    virtual ~Querier() = default;
    // The first candidate (in tree order) that covers `p`, or -1.
    virtual int32_t Locate(LonLat p) = 0;
  };
  // REQUIRES: this index outlives the querier. `prepare_all` prepares every
  // geometry now instead of on first use.
  std::unique_ptr<Querier> NewQuerier(bool prepare_all) const;

 private:
  struct State;
  explicit GeosIndex(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace wangge::bench
