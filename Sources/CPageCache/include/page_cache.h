#ifndef REPLYLINE_PAGE_CACHE_H
#define REPLYLINE_PAGE_CACHE_H

/// True when SQLite's page caches go through this wrapper: it installs itself before the
/// process's first SQLite call, and SQLite refuses a page cache after that.
int replyline_page_cache_installed(void);

/// How many times the wrapper has kept SQLite's temporary page number out of a cache, since
/// the process started. Tests use it to see the wrapper at work.
long long replyline_page_cache_swaps(void);

#endif
