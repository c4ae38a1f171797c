#pragma once
// Feature: one boundary polygon of a layer (a village, a grid cell, a
// demonstration zone) with its stable code, display name and the other
// attributes the source carried (for cells: "village", "branch").

#include <map>
#include <string>
#include <vector>

#include "spatial/geometry.h"

namespace wangge::spatial {

struct Feature {
  std::string code;
  std::string name;
  std::map<std::string, std::string> attributes;
  Shape shape;

  // The attribute's value, or "" when absent.
  std::string Attribute(const std::string& key) const {
    auto it = attributes.find(key);
    return it == attributes.end() ? std::string() : it->second;
  }
};

// The polygon layers a town's geography is made of. `zones` may be empty.
struct Layers {
  std::vector<Feature> villages;
  std::vector<Feature> cells;
  std::vector<Feature> zones;
};

// PointFeature: one point of a point layer (a Party-member central household,
// a shopfront under 门前包) with its code, name and other attributes.
struct PointFeature {
  std::string code;
  std::string name;
  std::map<std::string, std::string> attributes;
  Pt at;

  // The attribute's value, or "" when absent.
  std::string Attribute(const std::string& key) const {
    auto it = attributes.find(key);
    return it == attributes.end() ? std::string() : it->second;
  }
};

}  // namespace wangge::spatial
