// BatchStore: batches and their numbers survive reopening the directory.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/delivery/batch_store.h"
#include "tests/unit/test_support.h"

using namespace mutuo::delivery;
namespace fs = std::filesystem;

using mutuo::test::TempDir;

TEST_CASE("stored batches and the counter survive a reopen") {
  TempDir d;
  uint64_t first = 0, second = 0;
  {
    auto s = BatchStore::open({d.file("buf"), true});
    REQUIRE(s);
    auto& store = *s.value();
    CHECK(store.take_found().empty());
    first = *store.next_number();
    second = *store.next_number();
    CHECK(second == first + 1);
    REQUIRE(store.put(first, 3, "{\"batch\":1}"));
    auto b2 = store.put(second, 5, "{\"batch\":2}");
    REQUIRE(b2);
    CHECK(b2->bytes == 11);
    auto back = store.read(*b2);
    REQUIRE(back);
    CHECK(*back == "{\"batch\":2}");
  }
  {
    auto s = BatchStore::open({d.file("buf"), true});
    REQUIRE(s);
    auto found = s.value()->take_found();
    REQUIRE(found.size() == 2);
    CHECK(found[0].batch == first);
    CHECK(found[0].items == 3);
    CHECK(found[1].batch == second);
    CHECK(found[1].items == 5);
    CHECK(found[1].bytes == 11);
    CHECK(*s.value()->read(found[0]) == "{\"batch\":1}");
    uint64_t third = *s.value()->next_number();
    CHECK(third > second);
    s.value()->remove(found[0]);
  }
  auto s = BatchStore::open({d.file("buf"), true});
  REQUIRE(s);
  CHECK(s.value()->take_found().size() == 1);
}

TEST_CASE("numbers keep growing over many reopens, even when every batch was removed") {
  TempDir d;
  uint64_t last = 0;
  for (int run = 0; run < 5; ++run) {
    auto s = BatchStore::open({d.path, false});
    REQUIRE(s);
    for (uint64_t i = 0; i < BatchStore::kNumberBlock + 7; ++i) {  // crosses a block
      uint64_t n = *s.value()->next_number();
      CHECK(n > last);
      last = n;
    }
  }
}

TEST_CASE("a second process cannot open the same directory") {
  TempDir d;
  auto a = BatchStore::open({d.path, true});
  REQUIRE(a);
  auto b = BatchStore::open({d.path, true});
  REQUIRE_FALSE(b);
  CHECK(b.error().find("in use") != std::string::npos);
}

TEST_CASE("unfinished and foreign files are not taken for batches") {
  TempDir d;
  std::ofstream(d.file("00000000000000000042-1.json.tmp")) << "half";
  std::ofstream(d.file("notes.txt")) << "hello";
  std::ofstream(d.file("00000000000000000007-x.json")) << "{}";
  std::ofstream(d.file("00000000000000000009-2.json")) << "{}";
  auto s = BatchStore::open({d.path, true});
  REQUIRE(s);
  auto found = s.value()->take_found();
  REQUIRE(found.size() == 1);
  CHECK(found[0].batch == 9);
  CHECK_FALSE(fs::exists(d.file("00000000000000000042-1.json.tmp")));
  CHECK(fs::exists(d.file("notes.txt")));
  CHECK(*s.value()->next_number() > 9);
}
