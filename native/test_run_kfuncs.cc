// SPDX-License-Identifier: Apache-2.0
// The native face of net/bpf/test_run.c bpf_kfunc_call_test_release and
// bpf_kfunc_call_memb_release (emu/test_run_kfuncs.h): no pointer a
// program can hold may be released by them without the bpf_testmod
// module, so a call stops the run as a fault does. And
// bpf_modify_return_test_tp (kernel/bpf/helpers.c common_btf_ids), which
// answers its nonce. kfn50: 6.1's test_sk_check_kfunc_ids (the ones its
// verifier lets a program call), over emu/test_run_kfuncs.h's struct.

#include <cstdint>

#include "emu/prog.h"
#include "emu/test_run_kfuncs.h"

extern "C" {

struct prog_test_ref_kfunc;
struct prog_test_member;

void bpf_kfunc_call_test_release(struct prog_test_ref_kfunc* p) {
  // Only 6.1's acquiring test kfuncs give a pointer it may release.
  auto* s = reinterpret_cast<bpfemu::testk::ProgTestRefKfunc*>(p);
  if (s == nullptr || !bpfemu::testk::TestRelease61(s)) {
    bpfemu::ProgAbortRun();
  }
}

void bpf_kfunc_call_memb_release(struct prog_test_member* p) {
  (void)p;
  bpfemu::ProgAbortRun();
}

int bpf_modify_return_test_tp(int nonce) {
  return bpfemu::testk::ModifyReturnTestTp(nonce);
}

struct sock;
struct __sk_buff;
struct prog_test_pass1;
struct prog_test_pass2;

uint64_t bpf_kfunc_call_test1(struct sock* sk, uint32_t a, uint64_t b,
                              uint32_t c, uint64_t d) {
  (void)sk;
  return bpfemu::testk::Test1(a, b, c, d);
}

int bpf_kfunc_call_test2(struct sock* sk, uint32_t a, uint32_t b) {
  (void)sk;
  return bpfemu::testk::Test2(a, b);
}

struct sock* bpf_kfunc_call_test3(struct sock* sk) {
  return sk;
}

struct prog_test_ref_kfunc* bpf_kfunc_call_test_acquire(
    unsigned long* scalar_ptr) {
  (void)scalar_ptr;
  return reinterpret_cast<struct prog_test_ref_kfunc*>(
      bpfemu::testk::TestAcquire());
}

struct prog_test_member* bpf_kfunc_call_memb_acquire(void) {
  return nullptr;
}

int* bpf_kfunc_call_test_get_rdwr_mem(struct prog_test_ref_kfunc* p,
                                      const int rdwr_buf_size) {
  return bpfemu::testk::TestGetMem(
      reinterpret_cast<bpfemu::testk::ProgTestRefKfunc*>(p), rdwr_buf_size);
}

int* bpf_kfunc_call_test_get_rdonly_mem(struct prog_test_ref_kfunc* p,
                                        const int rdonly_buf_size) {
  return bpfemu::testk::TestGetMem(
      reinterpret_cast<bpfemu::testk::ProgTestRefKfunc*>(p), rdonly_buf_size);
}

struct prog_test_ref_kfunc* bpf_kfunc_call_test_kptr_get(
    struct prog_test_ref_kfunc** pp, int a, int b) {
  (void)a, (void)b;
  return reinterpret_cast<struct prog_test_ref_kfunc*>(
      bpfemu::testk::TestKptrGet(
          reinterpret_cast<bpfemu::testk::ProgTestRefKfunc**>(pp)));
}

// The kernel's bodies are empty: the verifier's argument checks are the
// test.
void bpf_kfunc_call_test_pass_ctx(struct __sk_buff* skb) { (void)skb; }
void bpf_kfunc_call_test_pass1(struct prog_test_pass1* p) { (void)p; }
void bpf_kfunc_call_test_pass2(struct prog_test_pass2* p) { (void)p; }
void bpf_kfunc_call_test_mem_len_pass1(void* mem, int mem__sz) {
  (void)mem, (void)mem__sz;
}
void bpf_kfunc_call_test_mem_len_fail2(uint64_t* mem, int len) {
  (void)mem, (void)len;
}
void bpf_kfunc_call_test_ref(struct prog_test_ref_kfunc* p) { (void)p; }
void bpf_kfunc_call_test_destructive(void) {}

}  // extern "C"
