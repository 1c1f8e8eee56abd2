// What keeps a RocksDB store alive through a full disk (receiver's results
// store, alert history), and its secondaries quiet while it does not exist yet.
//
// forwarding_logger: RocksDB's info log forwarded to the program's own log (warnings and errors
// only) instead of a LOG file in the database's directory. RocksDB 7.8's file
// logger aborts the process (an assertion Debian's build keeps on) at its next
// write or at close once one of its writes failed with ENOSPC, i.e. after any
// full disk; this logger writes nothing to that disk.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace rocksdb {
class Logger;
struct DBOptions;
}  // namespace rocksdb

namespace mutuo::store {

// `prefix` starts each forwarded line, e.g. "rocksdb" or "alert history: rocksdb".
std::shared_ptr<rocksdb::Logger> forwarding_logger(std::string prefix);

// The same for a secondary instance, errors only: RocksDB logs each catch-up
// ("Last sequence is N") and warns "Stopping writes because we have N immutable
// memtables" about the memtables a secondary replays and never writes: about
// 30,000 lines an hour in a 200-agent soak, which a LOG file of its own kept
// on disk without bound (7 MB in 90 minutes, never rotated).
std::shared_ptr<rocksdb::Logger> secondary_logger(std::string prefix);

// Sets up the log of a database about to be opened with `options`: its info log
// is forwarding_logger(prefix), or secondary_logger(prefix) for a secondary
// instance, and RocksDB's periodic stats dumps are off. Those dumps (every 10
// minutes, a text report of every column family and the block cache's
// contents) are info lines neither logger passes on: built for nothing.
// Every database of the project is opened through this.
enum class Instance { kPrimary, kSecondary };
void log_to_program(rocksdb::DBOptions& options, std::string prefix, Instance instance);

// Why no secondary can open `primary_dir` yet ("no database in DIR yet"), when
// it holds no RocksDB database (no CURRENT file); nullopt when it does. Asked
// before opening, so a dashboard started ahead of the receiver says so once
// (SecondaryOpener) instead of RocksDB logging an error at every retry.
std::optional<std::string> no_database_yet(const std::string& primary_dir);

// The refusal ("disk full: N MiB free for DIR, under the M MiB kept free"), when
// the filesystem holding `dir` has less than `min_free` bytes free; nullopt when
// it has enough or cannot be asked.
std::optional<std::string> disk_full(const std::string& dir, uint64_t min_free);

}  // namespace mutuo::store
