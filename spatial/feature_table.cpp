#include "spatial/feature_table.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <map>
#include <memory>

#include "base/parallel.h"
#include "spatial/huge_pages.h"
#include "spatial/shape_codec.h"

namespace wangge::spatial {
namespace {

// Record: varint code length, code, varint name length, name, varint
// attribute count, { varint key number, varint value length, value }, then
// the packed shape up to the record's end.

// Reads a varint the table itself wrote.
uint64_t GetVarint(const char*& p) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    auto byte = uint8_t(*p++);
    v |= uint64_t(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return v;
  }
}

std::string_view GetBytes(const char*& p) {
  size_t n = GetVarint(p);
  std::string_view s(p, n);
  p += n;
  return s;
}

size_t StringSize(const std::string& s) {
  return VarintSize(s.size()) + s.size();
}

char* PutString(char* out, const std::string& s) {
  out = PutVarint(out, s.size());
  std::memcpy(out, s.data(), s.size());
  return out + s.size();
}

}  // namespace

struct FeatureTable::Record {
  std::string_view code;
  std::string_view name;
  uint64_t attributes = 0;
  const char* first_attribute = nullptr;
  std::string_view shape;
};

FeatureTable FeatureTable::Pack(std::vector<Feature> features,
                                std::vector<Box> shell_bounds,
                                const std::vector<size_t>& shape_bytes) {
  FeatureTable t;
  const size_t n = features.size();
  // Attribute keys by number, in order of first use.
  std::map<std::string, uint64_t, std::less<>> key_number;
  for (const Feature& f : features) {
    for (const auto& [key, value] : f.attributes) {
      if (key_number.try_emplace(key, t.keys_.size()).second) {
        t.keys_.push_back(key);
      }
    }
  }
  const bool bounded = shell_bounds.size() == n;
  const bool sized = shape_bytes.size() == n;
  std::vector<Box> bounds =
      bounded ? std::move(shell_bounds) : std::vector<Box>(n);
  std::vector<uint64_t> start(n + 1);
  ParallelRanges(n, 10000, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      const Feature& f = features[i];
      size_t size = StringSize(f.code) + StringSize(f.name) +
                    VarintSize(f.attributes.size()) +
                    (sized ? shape_bytes[i] : PackedShapeSize(f.shape));
      for (const auto& [key, value] : f.attributes) {
        size += VarintSize(key_number.find(key)->second) + StringSize(value);
      }
      start[i + 1] = size;
      if (!bounded) bounds[i] = BoundsOf(f.shape);
    }
  });
  for (size_t i = 0; i < n; ++i) start[i + 1] += start[i];
  std::shared_ptr<char[]> bytes(new char[start[n]]);
  AdviseHugePages(bytes.get(), start[n]);
  ParallelRanges(n, 10000, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      if (i + 2 < end) PrefetchVertices(features[i + 2].shape);
      const Feature& f = features[i];
      char* out = bytes.get() + start[i];
      out = PutString(out, f.code);
      out = PutString(out, f.name);
      out = PutVarint(out, f.attributes.size());
      for (const auto& [key, value] : f.attributes) {
        out = PutVarint(out, key_number.find(key)->second);
        out = PutString(out, value);
      }
      // Given sizes are trusted: a wrong one would have overrun the record.
      [[maybe_unused]] char* end = PackShapeTo(f.shape, out);
      assert(end == bytes.get() + start[i + 1]);
    }
  });
  // Freed by the same threads: with tcmalloc's caches per thread that took
  // 0.48-0.49 s for 1,000,000 cells against 0.65-0.80 s by one thread.
  // (Under glibc's malloc, when the features were allocated by one thread,
  // two threads freeing into its arena contend for its lock instead.)
  ParallelRanges(n, 10000, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) features[i] = Feature{};
  });
  features = {};
  t.bytes_ = SharedArray<char>(bytes.get(), start[n], bytes);
  t.start_ = SharedArray<uint64_t>(std::move(start));
  t.bounds_ = SharedArray<Box>(std::move(bounds));
  return t;
}

uint64_t FeatureTable::Builder::KeyNumber(std::string_view key) {
  // A layer has a handful of keys: a linear search beats a map.
  for (size_t k = 0; k < keys_.size(); ++k) {
    if (keys_[k] == key) return k;
  }
  keys_.emplace_back(key);
  return keys_.size() - 1;
}

void FeatureTable::Builder::Reserve(size_t rows, size_t bytes) {
  bytes_.reserve(bytes);
  start_.reserve(rows + 1);
  bounds_.reserve(rows);
}

void FeatureTable::Builder::Add(
    std::string_view code, std::string_view name,
    const std::vector<std::pair<std::string, std::string>>& attributes,
    std::string_view shape, size_t shape_size, const Box& shell_bounds) {
  char buf[10];
  auto put_varint = [&](uint64_t v) {
    bytes_.append(buf, size_t(PutVarint(buf, v) - buf));
  };
  auto put_string = [&](std::string_view s) {
    put_varint(s.size());
    bytes_.append(s);
  };
  put_string(code);
  put_string(name);
  put_varint(attributes.size());
  for (const auto& [key, value] : attributes) {
    put_varint(KeyNumber(key));
    put_string(value);
  }
  bytes_.append(shape.substr(0, shape_size));
  start_.push_back(bytes_.size());
  bounds_.push_back(shell_bounds);
}

FeatureTable FeatureTable::Join(std::vector<Builder> parts) {
  FeatureTable t;
  // Each part numbers the keys in its own order of first use; a part that
  // does not number them as the first parts did is written again with the
  // table's numbers (rare: a layer's features mostly share their keys).
  for (Builder& part : parts) {
    bool same = true;
    for (size_t k = 0; k < part.keys_.size() && same; ++k) {
      same = k < t.keys_.size() ? part.keys_[k] == t.keys_[k]
                                : std::find(t.keys_.begin(), t.keys_.end(),
                                            part.keys_[k]) == t.keys_.end();
      if (same && k >= t.keys_.size()) t.keys_.push_back(part.keys_[k]);
    }
    if (same) continue;
    Builder renumbered;
    renumbered.keys_ = t.keys_;
    std::vector<std::pair<std::string, std::string>> attributes;
    for (size_t i = 0; i < part.size(); ++i) {
      const char* p = part.bytes_.data() + part.start_[i];
      std::string_view code = GetBytes(p);
      std::string_view name = GetBytes(p);
      attributes.resize(GetVarint(p));
      for (auto& [key, value] : attributes) {
        key = part.keys_[GetVarint(p)];
        value = GetBytes(p);
      }
      std::string_view shape(p, part.bytes_.data() + part.start_[i + 1] - p);
      renumbered.Add(code, name, attributes, shape, shape.size(),
                     part.bounds_[i]);
    }
    t.keys_ = renumbered.keys_;
    part = std::move(renumbered);
  }
  size_t n = 0, total = 0;
  for (const Builder& part : parts) {
    n += part.size();
    total += part.bytes_.size();
  }
  std::shared_ptr<char[]> bytes(new char[total]);
  AdviseHugePages(bytes.get(), total);
  std::vector<uint64_t> start;
  std::vector<Box> bounds;
  start.reserve(n + 1);
  bounds.reserve(n);
  start.push_back(0);
  for (Builder& part : parts) {
    uint64_t at = start.back();
    std::memcpy(bytes.get() + at, part.bytes_.data(), part.bytes_.size());
    for (size_t i = 1; i < part.start_.size(); ++i) {
      start.push_back(at + part.start_[i]);
    }
    bounds.insert(bounds.end(), part.bounds_.begin(), part.bounds_.end());
    part = Builder();  // freed as it goes
  }
  t.bytes_ = SharedArray<char>(bytes.get(), total, bytes);
  t.start_ = SharedArray<uint64_t>(std::move(start));
  t.bounds_ = SharedArray<Box>(std::move(bounds));
  return t;
}

FeatureTable::Record FeatureTable::Read(size_t i) const {
  const char* p = bytes_.data() + start_[i];
  Record r;
  r.code = GetBytes(p);
  r.name = GetBytes(p);
  r.attributes = GetVarint(p);
  r.first_attribute = p;
  for (uint64_t k = 0; k < r.attributes; ++k) {
    GetVarint(p);
    GetBytes(p);
  }
  r.shape = std::string_view(p, bytes_.data() + start_[i + 1] - p);
  return r;
}

std::string_view FeatureTable::code(size_t i) const {
  const char* p = bytes_.data() + start_[i];
  return GetBytes(p);
}

std::string_view FeatureTable::name(size_t i) const {
  const char* p = bytes_.data() + start_[i];
  GetBytes(p);
  return GetBytes(p);
}

std::string FeatureTable::Attribute(size_t i, std::string_view key) const {
  Record r = Read(i);
  const char* p = r.first_attribute;
  for (uint64_t k = 0; k < r.attributes; ++k) {
    uint64_t number = GetVarint(p);
    std::string_view value = GetBytes(p);
    if (keys_[number] == key) return std::string(value);
  }
  return std::string();
}

void FeatureTable::ShapeInto(size_t i, Shape& out) const {
  bool ok = UnpackShape(Read(i).shape, out);
  assert(ok);  // the table wrote it
  (void)ok;
}

Shape FeatureTable::shape(size_t i) const {
  Shape s;
  ShapeInto(i, s);
  return s;
}

Feature FeatureTable::feature(size_t i) const {
  Feature f = Describe(i);
  ShapeInto(i, f.shape);
  return f;
}

Feature FeatureTable::Describe(size_t i) const {
  Record r = Read(i);
  Feature f{.code = std::string(r.code), .name = std::string(r.name)};
  const char* p = r.first_attribute;
  for (uint64_t k = 0; k < r.attributes; ++k) {
    uint64_t number = GetVarint(p);
    std::string_view value = GetBytes(p);
    f.attributes.emplace_hint(f.attributes.end(), keys_[number], value);
  }
  return f;
}

size_t FeatureTable::Bytes() const {
  size_t keys = 0;
  for (const std::string& k : keys_) keys += sizeof k + k.capacity();
  return bytes_.size() + start_.size() * sizeof(uint64_t) +
         bounds_.size() * sizeof(Box) + keys;
}

}  // namespace wangge::spatial
