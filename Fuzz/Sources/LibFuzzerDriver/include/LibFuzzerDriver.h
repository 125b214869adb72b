#ifndef REPLYLINE_LIBFUZZER_DRIVER_H
#define REPLYLINE_LIBFUZZER_DRIVER_H

/// Runs libFuzzer over the program's `LLVMFuzzerTestOneInput`, with the command line as
/// libFuzzer's own `main` would. SwiftPM links a Linux executable with `main` aliased to
/// `<Module>_main` (so tests can link executables), which keeps libFuzzer's `main` out of
/// the link: each fuzz target exports `<Module>_main` and calls this instead.
int replyline_fuzz_main(int argc, char **argv);

#endif
