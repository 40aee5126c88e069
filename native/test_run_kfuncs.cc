// SPDX-License-Identifier: Apache-2.0
// The native face of net/bpf/test_run.c bpf_kfunc_call_test_release and
// bpf_kfunc_call_memb_release (emu/test_run_kfuncs.h): no pointer a
// program can hold may be released by them without the bpf_testmod
// module, so a call stops the run as a fault does. And
// bpf_modify_return_test_tp (kernel/bpf/helpers.c common_btf_ids), which
// answers its nonce.

#include "emu/test_run_kfuncs.h"
#include "emu/prog.h"

extern "C" {

struct prog_test_ref_kfunc;
struct prog_test_member;

void bpf_kfunc_call_test_release(struct prog_test_ref_kfunc* p) {
  (void)p;
  bpfemu::ProgAbortRun();
}

void bpf_kfunc_call_memb_release(struct prog_test_member* p) {
  (void)p;
  bpfemu::ProgAbortRun();
}

int bpf_modify_return_test_tp(int nonce) {
  return bpfemu::testk::ModifyReturnTestTp(nonce);
}

}  // extern "C"
