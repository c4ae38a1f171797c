#include "spatial/index_file.h"

#include <unistd.h>

#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

namespace wangge::spatial {
namespace {

constexpr char kMagic[8] = "WGINDEX";
// Bumped whenever FeatureTable's records, CellGrid's arrays or this file's
// layout change: an older file is then rebuilt, never misread.
constexpr uint32_t kFormat = 1;
constexpr uint32_t kByteOrder = 0x01020304;

// A 64-bit checksum against damage (a torn write, a bad disk), not against
// tampering: four independent multiply-rotate lanes, so that it keeps up
// with reading from the page cache.
class Checksum {
 public:
  void Add(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    Mix(lane_[0], n);
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
      for (int k = 0; k < 4; ++k) Mix(lane_[k], Word(p + i + 8 * k));
    }
    for (; i + 8 <= n; i += 8) Mix(lane_[1], Word(p + i));
    if (i < n) {
      uint64_t tail = 0;
      std::memcpy(&tail, p + i, n - i);
      Mix(lane_[2], tail);
    }
  }
  uint64_t Digest() const {
    uint64_t h = 0;
    for (uint64_t lane : lane_) Mix(h, lane);
    return h;
  }

 private:
  static uint64_t Word(const unsigned char* p) {
    uint64_t w;
    std::memcpy(&w, p, sizeof w);
    return w;
  }
  static void Mix(uint64_t& h, uint64_t w) {
    h = std::rotl((h ^ w) * 0x9E3779B97F4A7C15ull, 27);
  }
  uint64_t lane_[4] = {1, 2, 3, 4};
};

class Out {
 public:
  explicit Out(FILE* f) : f_(f) {}
  void Bytes(const void* p, size_t n) {
    sum_.Add(p, n);
    if (ok_ && n > 0 && std::fwrite(p, 1, n, f_) != n) ok_ = false;
  }
  template <class T>
  void Pod(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    Bytes(&v, sizeof v);
  }
  template <class T>
  void Array(const T* p, size_t n) {
    Pod(uint64_t(n));
    Bytes(p, n * sizeof(T));
  }
  void Text(std::string_view s) { Array(s.data(), s.size()); }
  const Checksum& sum() const { return sum_; }
  bool ok() const { return ok_; }

 private:
  FILE* f_;
  Checksum sum_;
  bool ok_ = true;
};

// Reads what Out wrote, never past the file's end: a damaged count fails
// instead of asking for terabytes.
class In {
 public:
  In(FILE* f, uint64_t size) : f_(f), left_(size) {}
  bool Bytes(void* p, size_t n) {
    if (!ok_ || n > left_) return ok_ = false;
    if (n > 0 && std::fread(p, 1, n, f_) != n) return ok_ = false;
    left_ -= n;
    sum_.Add(p, n);
    return true;
  }
  template <class T>
  bool Pod(T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    return Bytes(&v, sizeof v);
  }
  // A count of items of `size` bytes that the rest of the file can hold.
  bool Count(uint64_t& n, size_t size) {
    if (!Pod(n) || n > left_ / size) return ok_ = false;
    return true;
  }
  template <class T>
  bool Vector(std::vector<T>& v) {
    uint64_t n;
    if (!Count(n, sizeof(T))) return false;
    v.resize(n);
    return Bytes(v.data(), n * sizeof(T));
  }
  bool Text(std::string& s) {
    uint64_t n;
    if (!Count(n, 1)) return false;
    s.resize(n);
    return Bytes(s.data(), n);
  }
  const Checksum& sum() const { return sum_; }
  uint64_t left() const { return left_; }

 private:
  FILE* f_;
  uint64_t left_;
  Checksum sum_;
  bool ok_ = true;
};

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

}  // namespace

// What the classes befriend: their arrays, written and read.
struct IndexFileIo {
  static void Write(Out& out, const FeatureTable& t) {
    out.Array(t.start_.data(), t.start_.size());
    out.Bytes(t.bytes_.get(), t.start_.empty() ? 0 : t.start_.back());
    out.Array(t.bounds_.data(), t.bounds_.size());
    out.Pod(uint64_t(t.keys_.size()));
    for (const std::string& key : t.keys_) out.Text(key);
  }
  static bool Read(In& in, FeatureTable& t) {
    if (!in.Vector(t.start_)) return false;
    // Offsets run from 0 up, one more of them than features (or none for
    // a table never packed).
    size_t n = t.start_.size();
    if (n > 0 && t.start_[0] != 0) return false;
    for (size_t i = 1; i < n; ++i) {
      if (t.start_[i] < t.start_[i - 1]) return false;
    }
    uint64_t bytes = n == 0 ? 0 : t.start_.back();
    if (bytes > in.left()) return false;
    // Small pages, as for the grid's arrays below: read once, in order.
    t.bytes_.reset(new char[bytes]);
    if (!in.Bytes(t.bytes_.get(), bytes)) return false;
    if (!in.Vector(t.bounds_)) return false;
    if (t.bounds_.size() + (n > 0 ? 1 : 0) != n) return false;
    uint64_t keys;
    if (!in.Count(keys, sizeof(uint64_t))) return false;
    t.keys_.resize(keys);
    for (std::string& key : t.keys_) {
      if (!in.Text(key)) return false;
    }
    return true;
  }
  static void Write(Out& out, const cell_grid_detail::WordArray& a) {
    out.Array(a.data(), a.size());
  }
  static bool Read(In& in, cell_grid_detail::WordArray& a) {
    uint64_t n;
    if (!in.Count(n, sizeof(uint32_t))) return false;
    // Without huge pages: on this project's virtual machines their first
    // touch cost up to 4.9 s a GiB, and a start from a 300,000-cell index
    // file took 2.6-3.0 s with them against 1.18-1.25 s without
    // (alternating runs; session 8's host had it the other way round).
    a = cell_grid_detail::WordArray(n, /*huge_pages=*/false);
    a.Resize(n);
    return in.Bytes(a.data(), n * sizeof(uint32_t));
  }
  static void Write(Out& out, const LayerIndex& index) {
    Write(out, index.table_);
    const CellGrid* grid = index.grid_->ready.load();
    out.Pod(uint8_t(grid != nullptr));
    if (!grid) return;
    const CellGrid::Layout& l = grid->layout_;
    out.Pod(l.origin.x);
    out.Pod(l.origin.y);
    out.Pod(int32_t(l.shift_x));
    out.Pod(int32_t(l.shift_y));
    out.Pod(l.cols);
    out.Pod(l.rows);
    out.Pod(uint64_t(l.mixed_buckets));
    out.Pod(uint64_t(l.edge_entries));
    Write(out, grid->slots_);
    Write(out, grid->data_);
  }
  static bool Read(In& in, FeatureTable& table,
                   std::unique_ptr<CellGrid>& grid) {
    if (!Read(in, table)) return false;
    uint8_t has_grid;
    if (!in.Pod(has_grid) || has_grid > 1) return false;
    if (!has_grid) return true;
    grid = std::make_unique<CellGrid>();
    CellGrid::Layout& l = grid->layout_;
    int32_t shift_x, shift_y;
    uint64_t mixed, entries;
    if (!in.Pod(l.origin.x) || !in.Pod(l.origin.y) || !in.Pod(shift_x) ||
        !in.Pod(shift_y) || !in.Pod(l.cols) || !in.Pod(l.rows) ||
        !in.Pod(mixed) || !in.Pod(entries)) {
      return false;
    }
    l.shift_x = shift_x;
    l.shift_y = shift_y;
    l.mixed_buckets = mixed;
    l.edge_entries = entries;
    if (!Read(in, grid->slots_) || !Read(in, grid->data_)) return false;
    return grid->slots_.size() == uint64_t(l.cols) * l.rows;
  }
  static void Write(Out& out, const Locator& locator) {
    out.Pod(locator.boundary_version_);
    for (const LayerIndex* layer :
         {&locator.villages_, &locator.cells_, &locator.zones_}) {
      Write(out, *layer);
    }
  }
  // Reads the layers; the caller checks the checksum before calling Make.
  struct Parts {
    int64_t version = 0;
    FeatureTable tables[3];
    std::unique_ptr<CellGrid> grids[3];
  };
  static bool Read(In& in, Parts& parts) {
    if (!in.Pod(parts.version)) return false;
    for (int k = 0; k < 3; ++k) {
      if (!Read(in, parts.tables[k], parts.grids[k])) return false;
    }
    return true;
  }
  static Locator Make(Parts parts) {
    std::vector<LayerIndex> layers;
    for (int k = 0; k < 3; ++k) {
      layers.push_back(LayerIndex::FromParts(std::move(parts.tables[k]),
                                             std::move(parts.grids[k])));
    }
    return Locator(std::move(layers[0]), std::move(layers[1]),
                   std::move(layers[2]), parts.version);
  }
};

namespace {

// Save's temporary file: `path` and this, made unique by mkstemp.
constexpr std::string_view kTemporary = ".XXXXXX";

// Temporary files of earlier saves that never finished (the process was
// killed while writing: half a gigabyte each at 300,000 cells). One written
// in the last hour may be another server's work in progress and stays.
void RemoveAbandonedTemporaries(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path target(path);
  fs::path dir = target.has_parent_path() ? target.parent_path() : ".";
  std::string prefix = target.filename().string() + kTemporary[0];
  auto old = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.size() != prefix.size() + kTemporary.size() - 1 ||
        name.rfind(prefix, 0) != 0) {
      continue;
    }
    std::error_code ignored;
    if (it->is_regular_file(ignored) && it->last_write_time(ignored) < old) {
      fs::remove(it->path(), ignored);
    }
  }
}

}  // namespace

Result<void> IndexFile::Save(const Locator& locator, std::string_view stamp,
                             const std::string& path) {
  if (locator.grids_due()) {
    // The file would hold no grids, and every start from it would answer
    // through the R-trees.
    return Fail(ErrorCode::kInvalidArgument,
                path +
                    ": the locator's grids are still to be built "
                    "(BuildGrids) before it is saved");
  }
  RemoveAbandonedTemporaries(path);
  std::string temp = path + std::string(kTemporary);
  int fd = mkstemp(temp.data());
  if (fd < 0) {
    return Fail(ErrorCode::kInternal, path + ": cannot write the index file (" +
                                          std::strerror(errno) + ")");
  }
  File f(fdopen(fd, "wb"));
  if (!f) {
    close(fd);
    unlink(temp.c_str());
    return Fail(ErrorCode::kInternal, path + ": cannot write the index file");
  }
  Out out(f.get());
  out.Bytes(kMagic, sizeof kMagic);
  out.Pod(kFormat);
  out.Pod(kByteOrder);
  out.Text(stamp);
  IndexFileIo::Write(out, locator);
  uint64_t digest = out.sum().Digest();
  out.Pod(digest);
  bool ok = out.ok() && std::fflush(f.get()) == 0;
  int error = errno;
  ok = std::fclose(f.release()) == 0 && ok;
  if (!ok || std::rename(temp.c_str(), path.c_str()) != 0) {
    if (ok) error = errno;
    unlink(temp.c_str());
    return Fail(ErrorCode::kInternal, path + ": cannot write the index file (" +
                                          std::strerror(error) + ")");
  }
  return {};
}

Result<Locator> IndexFile::Load(const std::string& path,
                                std::string_view stamp) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) {
    if (errno == ENOENT) {
      return Fail(ErrorCode::kNotFound, path + ": no index file yet");
    }
    return Fail(ErrorCode::kInternal, path + ": cannot read the index file (" +
                                          std::strerror(errno) + ")");
  }
  std::fseek(f.get(), 0, SEEK_END);
  long size = std::ftell(f.get());
  std::rewind(f.get());
  if (size < 0) {
    return Fail(ErrorCode::kInternal, path + ": cannot read the index file");
  }
  auto damaged = [&] {
    return Fail(ErrorCode::kInvalidArgument,
                path + ": the index file is damaged; it will be rebuilt");
  };
  In in(f.get(), uint64_t(size));
  char magic[sizeof kMagic];
  uint32_t format = 0, order = 0;
  std::string stored_stamp;
  if (!in.Bytes(magic, sizeof magic) ||
      std::memcmp(magic, kMagic, sizeof magic) != 0) {
    return Fail(ErrorCode::kInvalidArgument,
                path + ": not a wangge index file");
  }
  if (!in.Pod(format) || !in.Pod(order) || format != kFormat ||
      order != kByteOrder) {
    return Fail(ErrorCode::kConflict,
                path +
                    ": the index file is from another wangge version or "
                    "machine; it will be rebuilt");
  }
  if (!in.Text(stored_stamp)) return damaged();
  if (stored_stamp != stamp) {
    return Fail(ErrorCode::kConflict,
                path +
                    ": the index file was built from other boundaries; it "
                    "will be rebuilt");
  }
  IndexFileIo::Parts parts;
  try {
    if (!IndexFileIo::Read(in, parts)) return damaged();
  } catch (const std::bad_alloc&) {
    return Fail(ErrorCode::kInternal,
                path + ": out of memory reading the index file");
  }
  uint64_t expected = in.sum().Digest(), digest;
  if (!in.Pod(digest) || digest != expected || in.left() != 0) {
    return damaged();
  }
  return IndexFileIo::Make(std::move(parts));
}

}  // namespace wangge::spatial
