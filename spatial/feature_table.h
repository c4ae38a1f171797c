#pragma once
// FeatureTable: an immutable list of polygon features kept compact, for
// layers of hundreds of thousands of cells that a server holds for its whole
// life. Each feature is one record in a shared byte array: its code, name and
// attributes as length-prefixed bytes (attribute keys numbered per table),
// and its shape packed as spatial/shape_codec.h does (about 6 bytes a vertex
// instead of 16); its bounds are kept beside it. Whole shapes are decoded on
// demand, so read them where they are needed (map layers, the nearest cell),
// not in a hot loop over the table.
//
// Round trip: feature(i) equals the i-th feature given to Pack, field for
// field. Immutable after Pack; copies share the arrays (a table read from an
// index file views them in the mapped file); every const method is safe
// from many threads.
//
//   FeatureTable cells = FeatureTable::Pack(std::move(features));
//   std::string_view code = cells.code(7);
//   Shape shape = cells.shape(7);

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "spatial/feature.h"
#include "spatial/geometry.h"
#include "spatial/shared_array.h"

namespace wangge::spatial {

class FeatureTable {
 public:
  FeatureTable() = default;

  // Packs `features` in their order (in a few threads for a big layer).
  // Their memory is freed; malloc may keep it until asked to trim.
  // `shell_bounds`, when given, are their BoundsOf, and `shape_bytes` their
  // shapes' PackedShapeSize, which the caller had (each saves a pass over
  // every vertex).
  static FeatureTable Pack(std::vector<Feature> features,
                           std::vector<Box> shell_bounds = {},
                           const std::vector<size_t>& shape_bytes = {});

  // Builds a table record by record from shapes already packed (a
  // database's blobs), so that nothing is unpacked: Add each feature in
  // order, then Join the builders. Builders filled by several threads, one
  // each, are joined in the order given.
  class Builder {
   public:
    // `attributes` sorted by key, each key once. `shape` starts with a
    // packed shape that ScanPackedShape accepted, taking `shape_size`
    // bytes, with `shell_bounds` its bounds.
    void Add(std::string_view code, std::string_view name,
             const std::vector<std::pair<std::string, std::string>>& attributes,
             std::string_view shape, size_t shape_size,
             const Box& shell_bounds);
    // Room for `rows` features of about `bytes` in all.
    void Reserve(size_t rows, size_t bytes);
    size_t size() const { return bounds_.size(); }

   private:
    friend class FeatureTable;
    uint64_t KeyNumber(std::string_view key);
    std::string bytes_;
    std::vector<uint64_t> start_{0};
    std::vector<Box> bounds_;
    std::vector<std::string> keys_;
  };
  static FeatureTable Join(std::vector<Builder> parts);

  size_t size() const { return bounds_.size(); }
  bool empty() const { return bounds_.empty(); }

  std::string_view code(size_t i) const;
  std::string_view name(size_t i) const;
  // The attribute's value, or "" when absent.
  std::string Attribute(size_t i, std::string_view key) const;
  // The bounds of feature i's shape (BoundsOf).
  const Box& bounds(size_t i) const { return bounds_[i]; }
  // Feature i's shape, decoded.
  Shape shape(size_t i) const;
  // Decodes feature i's shape into `out`, reusing its vectors' capacity.
  void ShapeInto(size_t i, Shape& out) const;
  // Feature i whole, decoded.
  Feature feature(size_t i) const;
  // Feature i without its shape: code, name and attributes.
  Feature Describe(size_t i) const;

  // Bytes held (records, offsets, bounds, attribute keys).
  size_t Bytes() const;

  // The layout of the records below is part of the index file's format
  // (spatial/index_file.h): a change to it bumps that format's number.
 private:
  friend struct IndexFileIo;
  struct Record;
  Record Read(size_t i) const;

  SharedArray<char> bytes_;      // the records, back to back
  SharedArray<uint64_t> start_;  // record i is bytes_[start_[i], start_[i+1])
  SharedArray<Box> bounds_;
  std::vector<std::string> keys_;  // attribute keys by number
};

// The polygon layers as tables, as a store loads them (the tables of
// spatial::Layers).
struct LayerTables {
  FeatureTable villages;
  FeatureTable cells;
  FeatureTable zones;
};

}  // namespace wangge::spatial
