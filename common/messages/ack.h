// mutuo/v1/acks/{agent} (not retained, QoS 1, by the receiver): batch numbers of
// that agent now safely in the store (DESIGN.md, "Delivery").
// Schema: schemas/ack.schema.json.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/messages/codec.h"
#include "common/result.h"

namespace mutuo {

struct Ack {
  std::string agent;
  std::vector<uint64_t> batches;
};

void to_json(nlohmann::json& j, const Ack& a);
std::string encode(const Ack& a);
Result<Ack> decode_ack(std::string_view payload);

}  // namespace mutuo
