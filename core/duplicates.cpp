#include "core/duplicates.h"

#include <algorithm>
#include <cmath>

#include "core/workflow.h"

namespace wangge::core {
namespace {

constexpr double kEarth = 6371008.8;  // mean radius, metres
constexpr double kPi = 3.14159265358979323846;
constexpr double kSquaresPerDegree = 500;
// A search over more squares than this walks the category's squares instead.
constexpr int64_t kMaxSquares = 64;
// Entries this much older than a search's window are dropped: received_at
// follows the ids only roughly (requests queue for the writer in any order).
constexpr int64_t kPruneSlack = 3600;

int64_t Square(double v) { return int64_t(std::floor(v * kSquaresPerDegree)); }
// x stays within +-90,000: keys of different rows never meet.
int64_t SquareKey(int64_t x, int64_t y) { return y * 1000000 + x; }

double Metres(double lon1, double lat1, double lon2, double lat2) {
  double p1 = lat1 * kPi / 180, p2 = lat2 * kPi / 180;
  double dp = p2 - p1, dl = (lon2 - lon1) * kPi / 180;
  double h = std::sin(dp / 2) * std::sin(dp / 2) +
             std::cos(p1) * std::cos(p2) * std::sin(dl / 2) * std::sin(dl / 2);
  return 2 * kEarth * std::asin(std::min(1.0, std::sqrt(h)));
}

}  // namespace

Result<void> RecentCases::Load(Store& store, Time from) {
  CaseFilter f;
  f.received_from = FormatLocal(from);
  f.limit = -1;                     // all of them
  auto cases = store.ListCases(f);  // newest first
  if (!cases) return std::unexpected(cases.error());
  for (auto it = cases->rbegin(); it != cases->rend(); ++it) Add(*it);
  return {};
}

void RecentCases::Add(const CaseRecord& c) {
  auto received = ParseTime(c.received_at);
  if (!received || !std::isfinite(c.lon) || !std::isfinite(c.lat)) return;
  Add(c.category,
      Entry{c.id, c.lon, c.lat, received->time_since_epoch().count()});
}

void RecentCases::Add(const std::string& category, Entry e) {
  by_category_[category][SquareKey(Square(e.lon), Square(e.lat))].push_back(e);
  ++size_;
}

std::vector<RecentCases::Candidate> RecentCases::Near(
    const std::string& category, double lon, double lat, double radius_m,
    Time from, size_t limit) {
  std::vector<Candidate> out;
  auto squares = by_category_.find(category);
  if (squares == by_category_.end() || !std::isfinite(lon) ||
      !std::isfinite(lat)) {
    return out;
  }
  int64_t since = from.time_since_epoch().count();
  auto scan = [&](std::deque<Entry>& entries) {
    while (!entries.empty() && entries.front().received < since - kPruneSlack) {
      entries.pop_front();
      --size_;
    }
    for (const Entry& e : entries) {
      if (e.received < since) continue;
      double m = Metres(lon, lat, e.lon, e.lat);
      if (m <= radius_m) out.push_back({e.id, m});
    }
  };
  double dlat = radius_m / kEarth * 180 / kPi;
  double dlon = dlat / std::max(0.01, std::cos(lat * kPi / 180));
  int64_t x0 = Square(lon - dlon), x1 = Square(lon + dlon);
  int64_t y0 = Square(lat - dlat), y1 = Square(lat + dlat);
  if ((x1 - x0 + 1) * (y1 - y0 + 1) > kMaxSquares) {
    for (auto& [key, entries] : squares->second) scan(entries);
  } else {
    for (int64_t y = y0; y <= y1; ++y) {
      for (int64_t x = x0; x <= x1; ++x) {
        auto it = squares->second.find(SquareKey(x, y));
        if (it != squares->second.end()) scan(it->second);
      }
    }
  }
  auto newer = [](const Candidate& a, const Candidate& b) {
    return a.id > b.id;
  };
  if (out.size() > limit) {
    std::partial_sort(out.begin(), out.begin() + limit, out.end(), newer);
    out.resize(limit);
  } else {
    std::sort(out.begin(), out.end(), newer);
  }
  return out;
}

Result<std::vector<PossibleDuplicate>> FindDuplicates(Store& store,
                                                      const Town& town,
                                                      RecentCases& recent,
                                                      const CaseRecord& record,
                                                      Time now) {
  double radius = 250;
  auto cat = town.config.categories.find(record.category);
  if (cat != town.config.categories.end()) {
    radius = cat->second.duplicate_radius_m;
  }
  auto near = recent.Near(record.category, record.lon, record.lat, radius,
                          now - kDuplicateWindow, kMaxDuplicates + 1);
  std::erase_if(near, [&](const auto& c) { return c.id == record.id; });
  if (near.size() > kMaxDuplicates) near.resize(kMaxDuplicates);
  std::vector<int64_t> ids;
  for (const auto& c : near) ids.push_back(c.id);
  auto briefs = store.Briefs(ids);  // in the order of `ids`, found ones only
  if (!briefs) return std::unexpected(briefs.error());
  std::vector<PossibleDuplicate> out;
  auto candidate = near.begin();
  for (const CaseBrief& b : *briefs) {
    while (candidate != near.end() && candidate->id != b.id) ++candidate;
    if (candidate == near.end()) break;
    if (!IsOpenState(b.status)) continue;
    out.push_back({b.id, b.number, std::round(candidate->distance_m * 10) / 10,
                   b.status});
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.distance_m < b.distance_m;
  });
  return out;
}

}  // namespace wangge::core
