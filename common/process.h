// What every program's main() needs from its surroundings: shutdown signals and
// secrets that must not appear on the command line.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace mutuo {

// Blocks SIGINT and SIGTERM in the calling thread and in every thread it starts
// afterwards. Call first thing in main(), before any thread exists.
void block_shutdown_signals();

// Waits until SIGINT or SIGTERM arrives; returns its name.
// REQUIRES: block_shutdown_signals() was called.
std::string wait_for_shutdown_signal();

// Caps glibc's malloc arenas at `per_core` per CPU core (at least 2), unless
// MALLOC_ARENA_MAX is set in the environment, which then decides. glibc's
// default, 8 per core, lets a process with many threads (CivetWeb's workers)
// spread small allocations over many arenas that each keep freed memory, so
// its RSS creeps up for hours. Call first thing in main(), before any thread.
void cap_malloc_arenas(int per_core);

// Keeps every allocation of 128 KiB or more in a mapping of its own, handed
// back to the system when freed (glibc's M_MMAP_THRESHOLD), unless
// MALLOC_MMAP_THRESHOLD_ is set in the environment, which then decides.
// glibc otherwise raises that threshold each time such a block is freed (up to
// 32 MiB), so RocksDB's memtable blocks, a few hundred KiB each and freed as
// memtables come and go, move into the heap among small long-lived
// allocations that keep their pages resident: the dashboard's and the
// receiver's RSS then creep up for hours (docs/hardening.md, "Soak run").
// Call first thing in main(), before any thread.
void keep_large_allocations_mapped();

// Gives memory that malloc holds free back to the system (glibc's
// malloc_trim; nothing elsewhere). For long-running processes whose big
// allocations come and go (a RocksDB secondary's replayed memtables): without
// it the freed pages stay in the process's RSS. Takes a few milliseconds.
void release_free_memory();

// What malloc holds: bytes the program has allocated and not freed, and bytes
// freed but kept by malloc (glibc's mallinfo2; zeros elsewhere). A resident
// size well above `in_use` is memory malloc keeps (see release_free_memory) or
// pages that small live allocations pin; one that grows with `in_use` is the
// program's own. Walks every arena under its lock: for a metrics scrape, not a
// hot path.
struct MallocStats {
  uint64_t in_use = 0;
  uint64_t free_held = 0;
};
MallocStats malloc_stats();

// Reads a secret (MQTT token or password): from `file` if non-empty, else from the
// environment variable `env_var`. Surrounding whitespace is trimmed. Secrets
// never come from argv, where `ps` shows them to every user.
// A secret read from the environment is then erased from it (forget_env_secret).
Result<std::string> read_secret(const std::string& file, const char* env_var);

// Removes `env_var` from the environment and overwrites its value where it
// was: variables given at start stay readable in /proc/PID/environ (to root
// and the same user) for the life of the process, whatever unsetenv does.
void forget_env_secret(const char* env_var);

}  // namespace mutuo
