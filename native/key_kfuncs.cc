// SPDX-License-Identifier: Apache-2.0
// The native face of kernel/trace/bpf_trace.c's key kfuncs (kfy48:
// bpf_lookup_user_key, bpf_lookup_system_key, bpf_key_put): a natively
// built program's `extern ... __ksym` declarations (weak) resolve to these
// definitions; the work is emu/key_kfuncs.h's.

#include "emu/key_kfuncs.h"

extern "C" {

struct bpf_key;

struct bpf_key* bpf_lookup_user_key(unsigned int serial,
                                    unsigned long long flags) {
  return static_cast<struct bpf_key*>(
      bpfemu::keyk::LookupUserKey(serial, flags));
}

struct bpf_key* bpf_lookup_system_key(unsigned long long id) {
  return static_cast<struct bpf_key*>(bpfemu::keyk::LookupSystemKey(id));
}

void bpf_key_put(struct bpf_key* bkey) { (void)bpfemu::keyk::KeyPut(bkey); }

}  // extern "C"
