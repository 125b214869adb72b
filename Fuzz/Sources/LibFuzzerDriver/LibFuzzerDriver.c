#include "LibFuzzerDriver.h"

#include <stddef.h>
#include <stdint.h>

// Both provided at link time: the first by the fuzz target (`@_cdecl`), the second by the
// libFuzzer runtime that `-sanitize=fuzzer` links in.
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*test_one_input)(const uint8_t *data, size_t size));

int replyline_fuzz_main(int argc, char **argv) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}
