#pragma once
// Packed shapes: a Shape as bytes, each vertex as the zigzag varint of its
// difference in nanodegrees from the vertex before (the first from 0, 0).
// Neighbouring vertices are close, so a vertex takes about 6 bytes instead
// of 16. Layout: varint parts { varint rings { varint n { dx, dy } } }.
// This is the database's 'Z' geometry blob without its tag byte.
//
// Round trip: UnpackShape(PackShape(s)) gives s back exactly, for any int64
// coordinates (the differences wrap). Pure functions, safe from many threads.
//
//   std::string bytes;
//   AppendPackedShape(shape, bytes);
//   Shape back;
//   bool ok = UnpackShape(bytes, back);  // false: damaged bytes

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "spatial/geometry.h"

namespace wangge::spatial {

// Unsigned LEB128 varints, as the packed form uses them (FeatureTable's
// records too): writes `v` at `out` and returns the end; the bytes it takes.
char* PutVarint(char* out, uint64_t v);
size_t VarintSize(uint64_t v);

// Appends the packed form of `shape` to `out`.
void AppendPackedShape(const Shape& shape, std::string& out);

// Bytes the packed form of `shape` takes.
size_t PackedShapeSize(const Shape& shape);
// Writes the packed form of `shape` at `out`, which must have room for
// PackedShapeSize(shape) bytes; returns the end of what it wrote.
char* PackShapeTo(const Shape& shape, char* out);

// Decodes the shape at the start of `bytes` into `out`, reusing its vectors'
// capacity; bytes after it are ignored. Returns false (out then unspecified)
// when the bytes are damaged: a count cannot ask for more items than bytes
// remain, so damage never costs more memory than the bytes hold.
bool UnpackShape(std::string_view bytes, Shape& out);

// Checks the shape at the start of `bytes` as UnpackShape does, without
// decoding it into memory: returns the bytes it takes (0 when damaged) and
// sets `shell_bounds` to its BoundsOf. For shapes handed on packed, as a
// database's blobs are to a FeatureTable.
size_t ScanPackedShape(std::string_view bytes, Box& shell_bounds);

}  // namespace wangge::spatial
