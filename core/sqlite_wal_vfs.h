#pragma once

// A SQLite VFS that writes a transaction's write-ahead-log frames in one
// system call instead of two per page.
//
// SQLite writes each WAL frame as two pwrite() calls (a 24-byte header, then
// the page) and syncs the log at each commit. On this kind of machine a
// system call costs about 1 µs before it does any work, and an intake batch
// touches tens of pages. This VFS wraps the platform's default one: writes to
// a "-wal" file that continue the previous one are gathered in memory, and
// written out at once before anything that needs them in the file:
//   - a sync, a read, a size or truncate of the log, closing it;
//   - a memory barrier on the database's shared-memory index, which SQLite
//     calls before it publishes new frames to other connections (so even
//     with synchronous=NORMAL, no reader is shown a frame still in memory);
//   - releasing a lock on that index, so that a rolled-back transaction's
//     spilled frames are written while this connection still holds the
//     log's write lock, never later over another connection's frames.
// A write error surfaces there as the default VFS's error (SQLITE_IOERR_*
// or SQLITE_FULL), and SQLite rolls the transaction back as for any failed
// write, except at the barrier and the unlock, which cannot report one (the
// bytes are dropped). With synchronous=FULL, as wangge sets it, a commit's
// sync has written everything before its barrier. Every other file and
// call goes to the default VFS unchanged.
//
// Thread safety: registration is once and thread-safe; each open file is
// used by its connection's thread, as SQLite's own files are.
//
//   sqlite3_open_v2(path, &db, flags, core::WalBufferVfs());

namespace wangge::core {

// Name of the VFS (registered, not made the default, on the first call), or
// nullptr (use the default) if SQLite refused to register it.
const char* WalBufferVfs();

}  // namespace wangge::core
