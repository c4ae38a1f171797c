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
  auto seen = store.DataVersion();  // before reading: a later write shows
  if (!seen) return std::unexpected(seen.error());
  CaseFilter f;
  f.received_from = FormatLocal(from);
  f.limit = -1;                      // all of them
  auto cases = store.ListBriefs(f);  // newest first
  if (!cases) return std::unexpected(cases.error());
  version_ = *seen;
  for (auto it = cases->rbegin(); it != cases->rend(); ++it) {
    Add(it->category, it->received_at,
        Case{.id = it->id,
             .number = std::move(it->number),
             .status = std::move(it->status),
             .lon = it->lon,
             .lat = it->lat});
  }
  return {};
}

void RecentCases::Add(const CaseRecord& c) {
  Add(c.category, c.received_at,
      Case{.id = c.id,
           .number = c.number,
           .status = c.status,
           .lon = c.lon,
           .lat = c.lat});
}

void RecentCases::Add(const std::string& category,
                      const std::string& received_at, Case c) {
  auto received = ParseTime(received_at);
  if (!received || !std::isfinite(c.lon) || !std::isfinite(c.lat)) return;
  c.received = received->time_since_epoch().count();
  c.seen = version_;
  int64_t key = SquareKey(Square(c.lon), Square(c.lat));
  auto& cases = by_category_[category][key];
  // Each square's cases stay in the order of their ids, which Near() reads
  // from the newest. Ids come in rising order but for a case stored by
  // another connection between two of the writer's batches.
  auto at = cases.end();
  if (!cases.empty() && cases.back().id > c.id) {
    at = std::upper_bound(
        cases.begin(), cases.end(), c.id,
        [](int64_t id, const Case& other) { return id < other.id; });
  }
  cases.insert(at, std::move(c));
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
  // A square holds cases in the order of their ids: from its newest, the
  // first `limit` within the radius are all it can give. A place reported
  // again and again (a market, a bench's fixed points) then costs `limit`
  // distances, not one for every case there this week.
  auto scan = [&](std::deque<Case>& cases) {
    while (!cases.empty() && cases.front().received < since - kPruneSlack) {
      cases.pop_front();
      --size_;
    }
    size_t found = 0;
    for (auto c = cases.rbegin(); c != cases.rend() && found < limit; ++c) {
      if (c->received < since) continue;
      double m = Metres(lon, lat, c->lon, c->lat);
      if (m <= radius_m) {
        out.push_back({&*c, m});
        ++found;
      }
    }
  };
  double dlat = radius_m / kEarth * 180 / kPi;
  double dlon = dlat / std::max(0.01, std::cos(lat * kPi / 180));
  // Beyond a degree (or NaN) the squares' numbers are not worth computing.
  bool all = !(dlon < 1 && dlat < 1);
  int64_t x0 = 0, x1 = 0, y0 = 0, y1 = 0;
  if (!all) {
    x0 = Square(lon - dlon), x1 = Square(lon + dlon);
    y0 = Square(lat - dlat), y1 = Square(lat + dlat);
    all = (x1 - x0 + 1) * (y1 - y0 + 1) > kMaxSquares;
  }
  if (all) {
    for (auto& [key, cases] : squares->second) scan(cases);
  } else {
    for (int64_t y = y0; y <= y1; ++y) {
      for (int64_t x = x0; x <= x1; ++x) {
        auto it = squares->second.find(SquareKey(x, y));
        if (it != squares->second.end()) scan(it->second);
      }
    }
  }
  auto newer = [](const Candidate& a, const Candidate& b) {
    return a.recent->id > b.recent->id;
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
  std::erase_if(near, [&](const auto& c) { return c.recent->id == record.id; });
  if (near.size() > kMaxDuplicates) near.resize(kMaxDuplicates);
  // Statuses read before another connection last wrote are read again.
  const int64_t version = recent.version();
  std::vector<int64_t> stale;
  for (const auto& c : near) {
    if (c.recent->seen != version) stale.push_back(c.recent->id);
  }
  if (!stale.empty()) {
    auto briefs = store.Briefs(stale);  // found ones, in the order of `stale`
    if (!briefs) return std::unexpected(briefs.error());
    auto b = briefs->begin();
    for (const auto& c : near) {
      if (c.recent->seen == version) continue;
      c.recent->seen = version;
      if (b != briefs->end() && b->id == c.recent->id) {
        c.recent->number = b->number;
        c.recent->status = b->status;
        ++b;
      } else {
        c.recent->status.clear();  // no longer stored
      }
    }
  }
  std::vector<PossibleDuplicate> out;
  for (const auto& c : near) {
    if (!IsOpenState(c.recent->status)) continue;
    out.push_back({c.recent->id, c.recent->number,
                   std::round(c.distance_m * 10) / 10, c.recent->status});
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.distance_m < b.distance_m;
  });
  return out;
}

}  // namespace wangge::core
