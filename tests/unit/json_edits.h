// Edits to a JSON message for the codec tests: a valid message, changed in one
// place, must be refused with a reason.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace mutuo::test {

using Mutation = std::function<void(nlohmann::json&)>;

// Sets the value at JSON pointer `ptr`, creating it when absent.
inline Mutation set(std::string ptr, nlohmann::json value) {
  return [ptr, value](nlohmann::json& j) { j[nlohmann::json::json_pointer(ptr)] = value; };
}

// Removes the member or element at JSON pointer `ptr`.
inline Mutation drop(std::string ptr) {
  return [ptr](nlohmann::json& j) {
    nlohmann::json::json_pointer p(ptr);
    nlohmann::json& parent = j[p.parent_pointer()];
    if (parent.is_array()) {
      parent.erase(std::stoul(p.back()));
    } else {
      parent.erase(p.back());
    }
  };
}

}  // namespace mutuo::test
