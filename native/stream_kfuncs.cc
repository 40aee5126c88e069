// SPDX-License-Identifier: Apache-2.0
// The native face of bpf_stream_vprintk_impl (kernel/bpf/stream.c): a
// natively built program's `extern ... __ksym` declaration (weak) resolves
// to this definition, which prints into the running program's stream
// (emu/stream.h). aux__prog is ignored, as the verifier replaces it with
// the program's own. %s arguments may be read anywhere in the process.

#include <cstdint>

#include "emu/stream.h"

extern "C" {

int bpf_stream_vprintk_impl(int stream_id, const char* fmt__str,
                            const void* args, uint32_t len__sz,
                            void* aux__prog) {
  (void)aux__prog;
  return bpfemu::StreamVprintk(stream_id, fmt__str,
                               static_cast<const uint64_t*>(args), len__sz,
                               nullptr);
}

}  // extern "C"
