// One libFuzzer executable per target: MUTUO_FUZZ_TARGET names the function of
// fuzz_targets.h this one drives. A broken invariant aborts, so libFuzzer keeps
// the input as a crash (docs/hardening.md says how to turn it into a regression).
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string broken = mutuo::fuzz::MUTUO_FUZZ_TARGET(data, size);
  if (!broken.empty()) {
    std::fprintf(stderr, "mutuo fuzz: invariant broken: %s\n", broken.c_str());
    std::abort();
  }
  return 0;
}
