#include "spatial/index_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
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
// 2: arrays aligned to kAlign, so that they are read in place.
constexpr uint32_t kFormat = 2;
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

// Arrays start at a multiple of this in the file, so that a reader views
// them in the mapped file where they lie.
constexpr size_t kAlign = 8;

class Out {
 public:
  explicit Out(FILE* f) : f_(f) {}
  void Bytes(const void* p, size_t n) {
    sum_.Add(p, n);
    if (ok_ && n > 0 && std::fwrite(p, 1, n, f_) != n) ok_ = false;
    at_ += n;
  }
  template <class T>
  void Pod(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    Bytes(&v, sizeof v);
  }
  // n items, after zeros up to the next multiple of kAlign.
  template <class T>
  void Span(const T* p, size_t n) {
    static_assert(std::is_trivially_copyable_v<T> && alignof(T) <= kAlign);
    static constexpr char kZeros[kAlign] = {};
    Bytes(kZeros, (kAlign - at_ % kAlign) % kAlign);
    Bytes(p, n * sizeof(T));
  }
  // A count, then its items (Span).
  template <class T>
  void Array(const SharedArray<T>& a) {
    Pod(uint64_t(a.size()));
    Span(a.data(), a.size());
  }
  void Text(std::string_view s) {
    Pod(uint64_t(s.size()));
    Bytes(s.data(), s.size());
  }
  const Checksum& sum() const { return sum_; }
  bool ok() const { return ok_; }

 private:
  FILE* f_;
  uint64_t at_ = 0;
  Checksum sum_;
  bool ok_ = true;
};

// A whole file mapped read-only, unmapped when the last array viewing it
// goes.
class Mapping {
 public:
  Mapping(const void* p, size_t size) : p_(p), size_(size) {}
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping() { munmap(const_cast<void*>(p_), size_); }

 private:
  const void* p_;
  size_t size_;
};

// Reads what Out wrote from the mapped file, never past its end: a damaged
// count fails instead of reaching beyond the mapping. Arrays are views of
// the mapping, which they keep alive.
class In {
 public:
  In(const char* p, uint64_t size, std::shared_ptr<const Mapping> mapping)
      : base_(p), at_(0), size_(size), mapping_(std::move(mapping)) {}
  bool Bytes(void* out, size_t n) {
    const char* p = Take(n);
    if (p && n > 0) std::memcpy(out, p, n);
    return p != nullptr;
  }
  template <class T>
  bool Pod(T& v) {
    static_assert(std::is_trivially_copyable_v<T>);
    return Bytes(&v, sizeof v);
  }
  // A count of items of `size` bytes that the rest of the file can hold.
  bool Count(uint64_t& n, size_t size) {
    if (!Pod(n) || n > left() / size) return ok_ = false;
    return true;
  }
  // n items where Out::Span put them.
  template <class T>
  bool Span(SharedArray<T>& a, uint64_t n) {
    static_assert(std::is_trivially_copyable_v<T> && alignof(T) <= kAlign);
    if (!Take((kAlign - at_ % kAlign) % kAlign)) return false;
    if (n > left() / sizeof(T)) return ok_ = false;
    const char* p = Take(n * sizeof(T));
    if (!p) return false;
    a = SharedArray<T>(reinterpret_cast<const T*>(p), n, mapping_);
    return true;
  }
  template <class T>
  bool Array(SharedArray<T>& a) {
    uint64_t n;
    return Count(n, sizeof(T)) && Span(a, n);
  }
  bool Text(std::string& s) {
    uint64_t n;
    if (!Count(n, 1)) return false;
    s.resize(n);
    return Bytes(s.data(), n);
  }
  const Checksum& sum() const { return sum_; }
  uint64_t left() const { return size_ - at_; }

 private:
  // The next n bytes, or nullptr when the file ends before them.
  const char* Take(size_t n) {
    if (!ok_ || n > left()) {
      ok_ = false;
      return nullptr;
    }
    const char* p = base_ + at_;
    at_ += n;
    sum_.Add(p, n);
    return p;
  }

  const char* base_;
  uint64_t at_, size_;
  std::shared_ptr<const Mapping> mapping_;
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
    out.Array(t.start_);
    out.Span(t.bytes_.data(), t.bytes_.size());
    out.Array(t.bounds_);
    out.Pod(uint64_t(t.keys_.size()));
    for (const std::string& key : t.keys_) out.Text(key);
  }
  static bool Read(In& in, FeatureTable& t) {
    if (!in.Array(t.start_)) return false;
    // Offsets run from 0 up, one more of them than features (or none for
    // a table never packed).
    size_t n = t.start_.size();
    if (n > 0 && t.start_[0] != 0) return false;
    for (size_t i = 1; i < n; ++i) {
      if (t.start_[i] < t.start_[i - 1]) return false;
    }
    if (!in.Span(t.bytes_, n == 0 ? 0 : t.start_.back())) return false;
    if (!in.Array(t.bounds_)) return false;
    if (t.bounds_.size() + (n > 0 ? 1 : 0) != n) return false;
    uint64_t keys;
    if (!in.Count(keys, sizeof(uint64_t))) return false;
    t.keys_.resize(keys);
    for (std::string& key : t.keys_) {
      if (!in.Text(key)) return false;
    }
    return true;
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
    out.Array(grid->slots_);
    out.Array(grid->data_);
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
    if (!in.Array(grid->slots_) || !in.Array(grid->data_)) return false;
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
  auto unreadable = [&](int error) {
    return Fail(ErrorCode::kInternal, path + ": cannot read the index file (" +
                                          std::strerror(error) + ")");
  };
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return Fail(ErrorCode::kNotFound, path + ": no index file yet");
    }
    return unreadable(errno);
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int error = errno;
    close(fd);
    return unreadable(error);
  }
  if (st.st_size < off_t(sizeof kMagic)) {
    close(fd);
    return Fail(ErrorCode::kInvalidArgument,
                path + ": not a wangge index file");
  }
  // Mapped, not read: the arrays stay where the page cache holds them. Read
  // into fresh memory, a 300,000-cell file (527 MiB) cost most of a 5.2-6.0 s
  // start on this project's virtual machines: the kernel's copy and the
  // first touch of each page (perf: `_copy_to_iter` and the hypervisor's
  // page-fault path). Save never writes into a file in place (it renames a
  // new one over it), so the mapped pages never change under a reader;
  // cutting the file short by hand while a server maps it would crash it.
  size_t size = size_t(st.st_size);
  void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  int error = errno;
  close(fd);
  if (p == MAP_FAILED) return unreadable(error);
  In in(static_cast<const char*>(p), size,
        std::make_shared<const Mapping>(p, size));
  auto damaged = [&] {
    return Fail(ErrorCode::kInvalidArgument,
                path + ": the index file is damaged; it will be rebuilt");
  };
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
