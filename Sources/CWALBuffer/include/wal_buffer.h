#ifndef REPLYLINE_WAL_BUFFER_H
#define REPLYLINE_WAL_BUFFER_H

/// Registers the write-ahead-log buffering VFS as SQLite's default (once; later calls do
/// nothing). Returns an SQLite result code.
int replyline_wal_buffer_register(void);

/// Counts since registration: writes SQLite asked for on WAL files, and writes that
/// reached the file system. Tests use them to see the buffering work.
void replyline_wal_buffer_counts(long long *requested, long long *written);

#endif
