#include "spatial/shape_codec.h"

#include <algorithm>
#include <cstdint>
#include <limits>

namespace wangge::spatial {
namespace {

uint64_t ZigZag(int64_t v) { return (uint64_t(v) << 1) ^ uint64_t(v >> 63); }
int64_t UnZigZag(uint64_t v) { return int64_t(v >> 1) ^ -int64_t(v & 1); }

// Wrapping differences: any two int64 coordinates round-trip.
uint64_t Delta(int64_t from, int64_t to) {
  return ZigZag(int64_t(uint64_t(to) - uint64_t(from)));
}

class Reader {
 public:
  explicit Reader(std::string_view bytes)
      : p_(reinterpret_cast<const uint8_t*>(bytes.data())),
        end_(p_ + bytes.size()) {}
  bool Varint(uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64 && p_ < end_; shift += 7) {
      uint8_t byte = *p_++;
      v |= uint64_t(byte & 0x7f) << shift;
      if (!(byte & 0x80)) return true;
    }
    return false;
  }
  // A count of items that take at least one byte each.
  bool Count(uint64_t& n) { return Varint(n) && n <= uint64_t(end_ - p_); }
  size_t Read(std::string_view from) const {
    return size_t(p_ - reinterpret_cast<const uint8_t*>(from.data()));
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

}  // namespace

char* PutVarint(char* out, uint64_t v) {
  while (v >= 0x80) {
    *out++ = char(v | 0x80);
    v >>= 7;
  }
  *out++ = char(v);
  return out;
}

size_t VarintSize(uint64_t v) {
  // 7 bits a byte: ceil(significant bits / 7), and one byte for zero.
  return size_t(70 - __builtin_clzll(v | 1)) / 7;
}

size_t PackedShapeSize(const Shape& shape) {
  size_t n = VarintSize(shape.parts.size());
  Pt last{0, 0};
  for (const auto& part : shape.parts) {
    n += VarintSize(part.rings.size());
    for (const auto& ring : part.rings) {
      n += VarintSize(ring.size());
      for (const Pt& p : ring) {
        n += VarintSize(Delta(last.x, p.x)) + VarintSize(Delta(last.y, p.y));
        last = p;
      }
    }
  }
  return n;
}

char* PackShapeTo(const Shape& shape, char* out) {
  out = PutVarint(out, shape.parts.size());
  Pt last{0, 0};
  for (const auto& part : shape.parts) {
    out = PutVarint(out, part.rings.size());
    for (const auto& ring : part.rings) {
      out = PutVarint(out, ring.size());
      for (const Pt& p : ring) {
        out = PutVarint(out, Delta(last.x, p.x));
        out = PutVarint(out, Delta(last.y, p.y));
        last = p;
      }
    }
  }
  return out;
}

void AppendPackedShape(const Shape& shape, std::string& out) {
  size_t at = out.size();
  out.resize(at + PackedShapeSize(shape));
  PackShapeTo(shape, out.data() + at);
}

bool UnpackShape(std::string_view bytes, Shape& out) {
  Reader r(bytes);
  uint64_t n = 0;
  if (!r.Count(n)) return false;
  out.parts.resize(n);
  Pt last{0, 0};
  for (auto& part : out.parts) {
    if (!r.Count(n)) return false;
    part.rings.resize(n);
    for (auto& ring : part.rings) {
      if (!r.Count(n)) return false;
      ring.resize(n);
      for (Pt& p : ring) {
        uint64_t dx, dy;
        if (!r.Varint(dx) || !r.Varint(dy)) return false;
        p.x = int64_t(uint64_t(last.x) + uint64_t(UnZigZag(dx)));
        p.y = int64_t(uint64_t(last.y) + uint64_t(UnZigZag(dy)));
        last = p;
      }
    }
  }
  return true;
}

size_t ScanPackedShape(std::string_view bytes, Box& shell_bounds) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  Box box{{kMax, kMax}, {-kMax, -kMax}};
  Reader r(bytes);
  uint64_t parts = 0, rings = 0, n = 0;
  if (!r.Count(parts)) return 0;
  Pt last{0, 0};
  for (uint64_t part = 0; part < parts; ++part) {
    if (!r.Count(rings)) return 0;
    for (uint64_t ring = 0; ring < rings; ++ring) {
      if (!r.Count(n)) return 0;
      for (uint64_t k = 0; k < n; ++k) {
        uint64_t dx, dy;
        if (!r.Varint(dx) || !r.Varint(dy)) return 0;
        last.x = int64_t(uint64_t(last.x) + uint64_t(UnZigZag(dx)));
        last.y = int64_t(uint64_t(last.y) + uint64_t(UnZigZag(dy)));
        if (ring == 0) {
          box.min.x = std::min(box.min.x, last.x);
          box.min.y = std::min(box.min.y, last.y);
          box.max.x = std::max(box.max.x, last.x);
          box.max.y = std::max(box.max.y, last.y);
        }
      }
    }
  }
  shell_bounds = box;
  return r.Read(bytes);
}

}  // namespace wangge::spatial
