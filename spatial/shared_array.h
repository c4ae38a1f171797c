#pragma once
// SharedArray<T>: an immutable array that its copies share. It either owns
// its items (given a vector, or any buffer with what keeps it alive) or
// views items in memory that another object keeps alive: a mapped index
// file (spatial/index_file.h), so that a start reads the file's pages where
// the page cache holds them instead of copying half a gigabyte.
//
// The items never move: a copy or a move points at the same memory, and
// the last one to go releases it. Every method is safe from many threads.
//
//   SharedArray<uint64_t> a(std::vector<uint64_t>{0, 5, 9});
//   SharedArray<uint64_t> b = a;  // the same three items, not copied
//   uint64_t last = b.back();

#include <cassert>
#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

namespace wangge::spatial {

template <class T>
class SharedArray {
 public:
  SharedArray() = default;
  explicit SharedArray(std::vector<T> items) {
    auto owned = std::make_shared<const std::vector<T>>(std::move(items));
    data_ = owned->data();
    size_ = owned->size();
    keep_ = std::move(owned);
  }
  // Views `size` items at `data`, which `keep` keeps alive.
  SharedArray(const T* data, size_t size, std::shared_ptr<const void> keep)
      : keep_(std::move(keep)), data_(data), size_(size) {}

  const T* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T& operator[](size_t i) const {
    assert(i < size_);
    return data_[i];
  }
  const T& back() const {
    assert(size_ > 0);
    return data_[size_ - 1];
  }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }

 private:
  std::shared_ptr<const void> keep_;
  const T* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace wangge::spatial
