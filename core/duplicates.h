#pragma once
// Possible duplicates at intake: open cases of the same category within the
// category's duplicate radius of a new report, received in the
// kDuplicateWindow before it.
//
// RecentCases keeps the recent cases' number, status, position and time
// received, in memory, filed by category and 1/500-degree square (about
// 220 m north-south), so that a search looks only at the cases near the
// report and reads no rows. It is filled once from the store and then told
// of each new case; the case writer keeps one (core/case_writer.h). The
// workflow changes statuses on other connections: each status is stamped
// with the store's DataVersion() when it was read, the holder tells the
// RecentCases the version it last saw (Saw()), and FindDuplicates reads
// again, from the store, those of the candidates it keeps whose stamp is
// older (none while nothing else has written).
//
//   RecentCases recent;
//   recent.Load(store, now - kDuplicateWindow);  // cases already stored
//   recent.Saw(*store.DataVersion());            // after each commit
//   recent.Add(stored);                          // each new case
//   auto d = FindDuplicates(store, town, recent, stored, now);

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "core/calendar.h"
#include "core/store.h"
#include "core/town.h"

namespace wangge::core {

inline constexpr std::chrono::hours kDuplicateWindow{24 * 7};
// A search keeps the most recent candidates within the radius.
inline constexpr size_t kMaxDuplicates = 20;

struct PossibleDuplicate {
  int64_t id = 0;
  std::string number;
  double distance_m = 0;
  std::string status;
};

class RecentCases {
 public:
  struct Case {
    int64_t id = 0;
    std::string number, status;
    double lon = 0, lat = 0;
    int64_t received = 0;  // seconds since the epoch
    int64_t seen = 0;      // the store's DataVersion() when status was read
  };
  struct Candidate {
    Case* recent;  // valid until the next Near() or Add()
    double distance_m = 0;
  };

  // Adds the cases the store holds that were received at or after `from`,
  // and the version they were read at.
  Result<void> Load(Store& store, Time from);
  // The store's DataVersion() as its holder last read it: what Add() is
  // told from then on is current at that version.
  void Saw(int64_t version) { version_ = version; }
  int64_t version() const { return version_; }
  // A case just stored (its id, number, status, category, lon, lat and
  // received_at are read). Cases received more than kDuplicateWindow
  // before the newest search are dropped as searches pass them.
  void Add(const CaseRecord& c);
  // Cases of `category` received at or after `from` within `radius_m` of
  // (lon, lat), the `limit` most recent (highest id) first.
  std::vector<Candidate> Near(const std::string& category, double lon,
                              double lat, double radius_m, Time from,
                              size_t limit);
  size_t size() const { return size_; }

 private:
  using Squares = std::unordered_map<int64_t, std::deque<Case>>;
  void Add(const std::string& category, const std::string& received_at, Case c);
  std::unordered_map<std::string, Squares> by_category_;
  int64_t version_ = 0;
  size_t size_ = 0;
};

// Open cases of `record`'s category within the category's duplicate radius
// and kDuplicateWindow before `now`, nearest first, `record` excluded;
// drawn from the kMaxDuplicates most recent such cases.
Result<std::vector<PossibleDuplicate>> FindDuplicates(Store& store,
                                                      const Town& town,
                                                      RecentCases& recent,
                                                      const CaseRecord& record,
                                                      Time now);

}  // namespace wangge::core
