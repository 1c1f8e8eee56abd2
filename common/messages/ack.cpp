#include "common/messages/ack.h"

namespace mutuo {

using codec::json;

void to_json(json& j, const Ack& a) {
  j = json{{"v", codec::kVersion}, {"agent", a.agent}, {"batches", a.batches}};
}

std::string encode(const Ack& a) { return json(a).dump(); }

Result<Ack> decode_ack(std::string_view payload) {
  return codec::decode_payload<Ack>(payload, 256 * 1024, [](const json& j) -> Result<Ack> {
    Ack a;
    a.agent = codec::get_id(j, "agent");
    const json& batches = codec::required(j, "batches");
    if (!batches.is_array() || batches.size() > 10000) return Error{"invalid 'batches'"};
    for (const json& b : batches) {
      if (!b.is_number_unsigned()) return Error{"expected unsigned integers in 'batches'"};
      a.batches.push_back(b.get<uint64_t>());
    }
    return a;
  });
}

}  // namespace mutuo
