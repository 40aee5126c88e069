// SPDX-License-Identifier: Apache-2.0
// A plain libbpf program (built with cc ... -lbpf) that exercises libbpf's
// library-wide calls and its object API before and after load: print
// callbacks, libbpf_get_error, strict mode, versions, the *_type_str and
// *_by_name tables, map setters, the bpf_map__* element API with its size
// checks, bpf_map__reuse_fd, pin paths and bpf_object__pin_maps. Its output
// names no fds, ids or pids, so the real libbpf on the kernel (as root) and
// libbpfemu substituted for libbpf.so.1 print the same text
// (tests/dropin/libbpf_api_expected.txt).
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static void report(const char *what, long ret) {
  if (ret < 0)
    printf("%-44s -> %ld (errno %d)\n", what, ret, errno);
  else
    printf("%-44s -> %ld\n", what, ret);
}

static char last_msg[512];
static int last_level = -1;
static int capture(enum libbpf_print_level level, const char *fmt,
                   va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  last_level = level;
  vsnprintf(last_msg, sizeof(last_msg), fmt, args);
  return 0;
}

static void show_msg(const char *what) {
  // The pid in pin paths is masked.
  char pid[16], *at;
  snprintf(pid, sizeof(pid), "%d", (int)getpid());
  while ((at = strstr(last_msg, pid)) != NULL) {
    memset(at, 'P', 1);
    memmove(at + 1, at + strlen(pid), strlen(at + strlen(pid)) + 1);
  }
  printf("%-44s :: level %d: %s", what, last_level,
         last_msg[0] ? last_msg : "(none)\n");
  last_msg[0] = '\0';
  last_level = -1;
}

static __u32 map_id(int fd) {
  struct bpf_map_info info = {};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len)) return 0;
  return info.id;
}

static void tables(void) {
  for (int i = -1; i < 46; i++) {
    const char *m = libbpf_bpf_map_type_str(i);
    const char *p = libbpf_bpf_prog_type_str(i);
    const char *a = libbpf_bpf_attach_type_str(i);
    const char *l = libbpf_bpf_link_type_str(i);
    printf("type %2d: map %s prog %s attach %s link %s\n", i, m ? m : "-",
           p ? p : "-", a ? a : "-", l ? l : "-");
  }
  static const char *secs[] = {"socket",
                               "socket/x",
                               "kprobe",
                               "kprobe/do_sys_open",
                               "kprobex",
                               "uprobe.s/x",
                               "tc",
                               "tc/x",
                               "classifier",
                               "action",
                               "tracepoint/a/b",
                               "tp/x",
                               "raw_tp/x",
                               "raw_tracepoint.w/x",
                               "tp_btf/x",
                               "fentry/x",
                               "fexit",
                               "fmod_ret.s/x",
                               "freplace/x",
                               "lsm/x",
                               "lsm_cgroup/x",
                               "iter/task",
                               "syscall",
                               "xdp",
                               "xdp/devmap",
                               "xdp.frags",
                               "xdp.frags/cpumap",
                               "xdp/foo",
                               "perf_event",
                               "lwt_in",
                               "lwt_seg6local",
                               "sockops",
                               "sk_skb",
                               "sk_skb/stream_parser",
                               "sk_skb/stream_verdict",
                               "sk_skb/other",
                               "sk_msg",
                               "lirc_mode2",
                               "flow_dissector",
                               "cgroup_skb/ingress",
                               "cgroup_skb/egress",
                               "cgroup/skb",
                               "cgroup/sock",
                               "cgroup/sock_create",
                               "cgroup/sock_release",
                               "cgroup/post_bind4",
                               "cgroup/bind6",
                               "cgroup/connect4",
                               "cgroup/sendmsg6",
                               "cgroup/recvmsg4",
                               "cgroup/getpeername6",
                               "cgroup/getsockname4",
                               "cgroup/sysctl",
                               "cgroup/getsockopt",
                               "cgroup/setsockopt",
                               "cgroup/dev",
                               "struct_ops/x",
                               "sk_lookup",
                               "sk_reuseport",
                               "sk_reuseport/migrate",
                               "ksyscall/x",
                               "usdt/x",
                               "kprobe.multi/x",
                               "unknown",
                               "",
                               NULL};
  for (int i = 0; secs[i]; i++) {
    enum bpf_prog_type pt = 0;
    enum bpf_attach_type at = 0, at2 = 0;
    errno = 0;
    int r1 = libbpf_prog_type_by_name(secs[i], &pt, &at);
    int e1 = errno;
    errno = 0;
    int r2 = libbpf_attach_type_by_name(secs[i], &at2);
    printf("sec '%s': prog %d (%d) type %d attach %d; attach %d (%d) %d\n",
           secs[i], r1, e1, r1 ? -1 : (int)pt, r1 ? -1 : (int)at, r2, errno,
           r2 ? -1 : (int)at2);
  }
  report("prog_type_by_name NULL", libbpf_prog_type_by_name(NULL, NULL, NULL));
  report("attach_type_by_name NULL", libbpf_attach_type_by_name(NULL, NULL));
}

static void misc(void) {
  printf("version %u.%u %s\n", libbpf_major_version(), libbpf_minor_version(),
         libbpf_version_string());
  report("set_strict_mode ALL", libbpf_set_strict_mode(LIBBPF_STRICT_ALL));
  report("set_strict_mode 1234", libbpf_set_strict_mode(1234));
  errno = 7;
  report("get_error(NULL) errno 7", libbpf_get_error(NULL));
  report("get_error(valid)", libbpf_get_error(&errno));
  report("get_error(ERR_PTR(-22))", libbpf_get_error((void *)(long)-22));
  char buf[64];
  int errs[] = {1, -2, 22, 4000, 4001, 4007, 4013, 4014, 5000, 0};
  for (int i = 0; i < 10; i++) {
    memset(buf, 0, sizeof(buf));
    int r = libbpf_strerror(errs[i], buf, sizeof(buf));
    printf("strerror %d -> %d '%s'\n", errs[i], r, buf);
  }
  report("strerror short buffer", libbpf_strerror(4001, buf, 5));
  printf("  '%s'\n", buf);
}

static struct bpf_object *open_obj(const char *path) {
  struct bpf_object *obj = bpf_object__open_file(path, NULL);
  if (!obj) {
    printf("open %s failed: errno %d\n", path, errno);
    exit(1);
  }
  return obj;
}

static void objects(const char *path) {
  int ncpu = libbpf_num_possible_cpus();
  struct bpf_object *obj = open_obj(path);
  struct bpf_map *bytes = bpf_object__find_map_by_name(obj, "bytes");
  struct bpf_map *pkts = bpf_object__find_map_by_name(obj, "packets_by_proto");
  struct bpf_program *prog =
      bpf_object__find_program_by_name(obj, "count_bytes");
  if (!bytes || !pkts || !prog) {
    printf("object lacks its maps or program\n");
    exit(1);
  }
  errno = 0;
  report("fd before load", bpf_map__fd(bytes));
  report("set_max_entries 16", bpf_map__set_max_entries(pkts, 16));
  report("max_entries", bpf_map__max_entries(pkts));
  report("set_key_size 4", bpf_map__set_key_size(pkts, 4));
  report("key_size", bpf_map__key_size(pkts));
  report("set_key_size back to 2", bpf_map__set_key_size(pkts, 2));
  report("set_value_size 16", bpf_map__set_value_size(pkts, 16));
  report("value_size", bpf_map__value_size(pkts));
  report("set_value_size back to 8", bpf_map__set_value_size(pkts, 8));
  report("set_type LRU_PERCPU_HASH",
         bpf_map__set_type(pkts, BPF_MAP_TYPE_LRU_PERCPU_HASH));
  report("type", bpf_map__type(pkts));
  report("set_map_flags NO_COMMON_LRU",
         bpf_map__set_map_flags(pkts, BPF_F_NO_COMMON_LRU));
  report("map_flags", bpf_map__map_flags(pkts));
  report("set_numa_node 0", bpf_map__set_numa_node(pkts, 0));
  report("set_map_extra 0", bpf_map__set_map_extra(pkts, 0));
  last_msg[0] = '\0';
  report("set_inner_map_fd on a hash", bpf_map__set_inner_map_fd(pkts, 3));
  show_msg("  message");
  report("autocreate", bpf_map__autocreate(pkts));
  report("set_autocreate false", bpf_map__set_autocreate(pkts, false));
  report("set_autocreate true", bpf_map__set_autocreate(pkts, true));
  report("program type", bpf_program__type(prog));
  report("set_type XDP", bpf_program__set_type(prog, BPF_PROG_TYPE_XDP));
  report("expected_attach_type", bpf_program__expected_attach_type(prog));
  report("set_expected_attach_type XDP",
         bpf_program__set_expected_attach_type(prog, BPF_XDP));
  report("autoload", bpf_program__autoload(prog));
  report("set_autoload false", bpf_program__set_autoload(prog, false));
  report("autoload now", bpf_program__autoload(prog));
  report("set_autoload true", bpf_program__set_autoload(prog, true));
  report("set_flags 0", bpf_program__set_flags(prog, 0));
  report("flags", bpf_program__flags(prog));
  report("set_log_level 0", bpf_program__set_log_level(prog, 0));
  report("log_level", bpf_program__log_level(prog));
  report("set_log_buf NULL, 10", bpf_program__set_log_buf(prog, NULL, 10));
  report("set_log_buf NULL, 0", bpf_program__set_log_buf(prog, NULL, 0));
  size_t log_size = 1;
  printf("log_buf %s size %zu\n",
         bpf_program__log_buf(prog, &log_size) ? "set" : "NULL", log_size);
  report("element API before load",
         bpf_map__lookup_elem(bytes, &(__u32){0}, 4, &(__u64){0}, 8, 0));
  printf("section %s insns %zu first insn code 0x%x\n",
         bpf_program__section_name(prog), bpf_program__insn_cnt(prog),
         bpf_program__insns(prog) ? bpf_program__insns(prog)[0].code : 0);
  printf("internal: %d %d\n", bpf_map__is_internal(bytes),
         bpf_map__is_internal(pkts));
  printf("prev_map(NULL) is last: %s, prev of first: %s\n",
         bpf_object__prev_map(obj, NULL) == pkts ? "yes" : "no",
         bpf_object__prev_map(obj, bytes) ? "set" : "NULL");
  printf("prev_program(NULL) is ours: %s\n",
         bpf_object__prev_program(obj, NULL) == prog ? "yes" : "no");
  report("set_initial_value on a hash",
         bpf_map__set_initial_value(pkts, "12345678", 8));
  {
    // Without a "version" section libbpf takes the running kernel's.
    struct utsname u;
    unsigned a = 0, b = 0, c = 0;
    uname(&u);
    sscanf(u.release, "%u.%u.%u", &a, &b, &c);
    unsigned code = (a << 16) + (b << 8) + (c > 255 ? 255 : c);
    printf("kversion is the running kernel's (uname): %s\n",
           bpf_object__kversion(obj) == code ? "yes" : "no");
  }
  report("set_kversion 0x60100", bpf_object__set_kversion(obj, 0x60100));
  report("kversion now", bpf_object__kversion(obj));
  report("load", bpf_object__load(obj));
  report("set_kversion after load", bpf_object__set_kversion(obj, 1));
  {
    // The loaded program is found by the id walk and by its id.
    struct bpf_prog_info pinfo = {};
    __u32 plen = sizeof(pinfo);
    bpf_obj_get_info_by_fd(bpf_program__fd(prog), &pinfo, &plen);
    __u32 id = 0;
    int found = 0;
    while (!bpf_prog_get_next_id(id, &id)) found |= id == pinfo.id;
    printf("program id found by the walk: %s (walk ends with errno %d)\n",
           found ? "yes" : "no", errno);
    int pfd = bpf_prog_get_fd_by_id(pinfo.id);
    struct bpf_prog_info pinfo2 = {};
    plen = sizeof(pinfo2);
    bpf_obj_get_info_by_fd(pfd, &pinfo2, &plen);
    printf("get_fd_by_id gives the program: %s (type %u name %s)\n",
           pinfo2.id == pinfo.id ? "yes" : "no", pinfo2.type, pinfo2.name);
    close(pfd);
    // What bpftool prog show prints of it: the tag (the SHA-1 of the
    // instructions as loaded), license, maps, BTF, creator and load time.
    struct timespec now;
    clock_gettime(CLOCK_BOOTTIME, &now);
    const unsigned long long now_ns =
        now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec;
    printf(
        "prog info: tag %02x%02x%02x%02x%02x%02x%02x%02x gpl %u maps %u "
        "btf %s uid %s loaded %s xlated %s\n",
        pinfo.tag[0], pinfo.tag[1], pinfo.tag[2], pinfo.tag[3], pinfo.tag[4],
        pinfo.tag[5], pinfo.tag[6], pinfo.tag[7], pinfo.gpl_compatible,
        pinfo.nr_map_ids, pinfo.btf_id ? "yes" : "no",
        pinfo.created_by_uid == getuid() ? "ours" : "other",
        pinfo.load_time > 0 && pinfo.load_time <= now_ns ? "before now"
                                                         : "wrong",
        pinfo.xlated_prog_len > 0 ? "yes" : "no");
    report("prog_get_next_id from INT_MAX",
           bpf_prog_get_next_id(0x7fffffff, &id));
    report("prog_get_fd_by_id(0)", bpf_prog_get_fd_by_id(0));
    LIBBPF_OPTS(bpf_get_fd_by_id_opts, o, .open_flags = BPF_F_RDONLY);
    report("prog_get_fd_by_id_opts RDONLY",
           bpf_prog_get_fd_by_id_opts(pinfo.id, &o));
    report("link_get_next_id from INT_MAX",
           bpf_link_get_next_id(0x7fffffff, &id));
    report("link_get_fd_by_id(0)", bpf_link_get_fd_by_id(0));
    report("btf_get_fd_by_id(0)", bpf_btf_get_fd_by_id(0));
    report("link_detach(9999)", bpf_link_detach(9999));
    report("link_detach(map fd)", bpf_link_detach(bpf_map__fd(bytes)));
    report("link_update(9999)", bpf_link_update(9999, 0, NULL));
    report("iter_create(map fd)", bpf_iter_create(bpf_map__fd(bytes)));
    report("prog_attach bad type",
           bpf_prog_attach(bpf_program__fd(prog), 0, 1000, 0));
    report("prog_attach bad flags",
           bpf_prog_attach(bpf_program__fd(prog), 0, BPF_CGROUP_INET_INGRESS,
                           0x100));
    report("prog_attach map fd",
           bpf_prog_attach(bpf_map__fd(bytes), 0, BPF_CGROUP_INET_INGRESS, 0));
    report("prog_attach closed fd",
           bpf_prog_attach(9999, 0, BPF_CGROUP_INET_INGRESS, 0));
    report("link_create closed fd",
           bpf_link_create(9999, 0, BPF_CGROUP_INET_INGRESS, NULL));
    report("raw_tracepoint_open closed fd",
           bpf_raw_tracepoint_open("sys_enter", 9999));
    errno = 0;
    report("link__destroy(NULL)", bpf_link__destroy(NULL));

    // BPF_PROG_QUERY per attach-type family: nothing attached.
    int sm = bpf_map_create(BPF_MAP_TYPE_SOCKMAP, "qsm", 4, 4, 2, NULL);
    __u32 cnt = 5, aflags = 7;
    report("query sockmap SK_MSG_VERDICT",
           bpf_prog_query(sm, BPF_SK_MSG_VERDICT, 0, &aflags, NULL, &cnt));
    printf("  prog_cnt %u attach_flags %u\n", cnt, aflags);
    cnt = 5;
    report("query hash SK_SKB_STREAM_PARSER",
           bpf_prog_query(bpf_map__fd(pkts), BPF_SK_SKB_STREAM_PARSER, 0,
                          &aflags, NULL, &cnt));
    printf("  prog_cnt %u\n", cnt);
    cnt = 5;
    report("query sockmap flags EFFECTIVE",
           bpf_prog_query(sm, BPF_SK_MSG_VERDICT, BPF_F_QUERY_EFFECTIVE,
                          &aflags, NULL, &cnt));
    printf("  prog_cnt %u\n", cnt);
    report("query sockmap flags 2",
           bpf_prog_query(sm, BPF_SK_MSG_VERDICT, 2, &aflags, NULL, &cnt));
    report("query closed fd SK_MSG_VERDICT",
           bpf_prog_query(9999, BPF_SK_MSG_VERDICT, 0, &aflags, NULL, &cnt));
    report("query unknown type",
           bpf_prog_query(sm, 1000, 0, &aflags, NULL, &cnt));
    int ns = open("/proc/self/ns/net", O_RDONLY);
    cnt = 5;
    report("query netns SK_LOOKUP",
           bpf_prog_query(ns, BPF_SK_LOOKUP, 0, &aflags, NULL, &cnt));
    printf("  prog_cnt %u\n", cnt);
    report("query map fd as netns",
           bpf_prog_query(sm, BPF_FLOW_DISSECTOR, 0, &aflags, NULL, &cnt));
    int cg = open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY);
    cnt = 5;
    report("query cgroup CGROUP_SYSCTL",
           bpf_prog_query(cg, BPF_CGROUP_SYSCTL, 0, &aflags, NULL, &cnt));
    printf("  prog_cnt %u\n", cnt);
    report("query netns fd as cgroup",
           bpf_prog_query(ns, BPF_CGROUP_SYSCTL, 0, &aflags, NULL, &cnt));
    report("query lirc on a map fd",
           bpf_prog_query(sm, BPF_LIRC_MODE2, 0, &aflags, NULL, &cnt));
    char tbuf[64];
    __u32 tlen = sizeof(tbuf), tid = 9, ttype = 9;
    __u64 toff = 9, taddr = 9;
    report("task_fd_query self, a map fd",
           bpf_task_fd_query(getpid(), sm, 0, tbuf, &tlen, &tid, &ttype, &toff,
                             &taddr));
    printf("  prog_id %u fd_type %u\n", tid, ttype);
    report("task_fd_query closed fd",
           bpf_task_fd_query(getpid(), 9999, 0, tbuf, &tlen, &tid, &ttype,
                             &toff, &taddr));
    report("task_fd_query flags 1",
           bpf_task_fd_query(getpid(), sm, 1, tbuf, &tlen, &tid, &ttype, &toff,
                             &taddr));
    report("task_fd_query no such pid",
           bpf_task_fd_query(0x3ffffff0, 0, 0, tbuf, &tlen, &tid, &ttype, &toff,
                             &taddr));
    close(cg);
    close(ns);
    close(sm);
    report("map ifindex", bpf_map__ifindex(pkts));
    report("set_ifindex after load", bpf_map__set_ifindex(pkts, 1));
    report("program autoattach", bpf_program__autoattach(prog));
    bpf_program__set_autoattach(prog, false);
    report("program autoattach after set false", bpf_program__autoattach(prog));
  }
  report("max_entries after load", bpf_map__max_entries(pkts));
  report("type after load", bpf_map__type(pkts));
  struct bpf_map_info info = {};
  __u32 len = sizeof(info);
  bpf_obj_get_info_by_fd(bpf_map__fd(pkts), &info, &len);
  printf("kernel map: type %u key %u value %u max %u flags %u\n", info.type,
         info.key_size, info.value_size, info.max_entries, info.map_flags);
  report("set_max_entries after load", bpf_map__set_max_entries(pkts, 4));
  report("set_value_size after load", bpf_map__set_value_size(pkts, 4));
  report("set_key_size after load", bpf_map__set_key_size(pkts, 4));
  report("set_type after load", bpf_map__set_type(pkts, BPF_MAP_TYPE_HASH));
  report("set_map_flags after load", bpf_map__set_map_flags(pkts, 0));
  report("set_autocreate after load", bpf_map__set_autocreate(pkts, false));
  report("program set_type after load",
         bpf_program__set_type(prog, BPF_PROG_TYPE_XDP));
  report("set_autoload after load", bpf_program__set_autoload(prog, true));
  report("set_log_buf after load", bpf_program__set_log_buf(prog, NULL, 0));
  report("set_flags after load", bpf_program__set_flags(prog, 0));

  // Element API with libbpf's size checks; per-CPU values are ncpu * 8.
  size_t vsz = (size_t)ncpu * 8;
  __u64 *vals = calloc(ncpu, 8);
  __u32 k0 = 0;
  for (int i = 0; i < ncpu; i++) vals[i] = 100 + i;
  report("update bytes value 8",
         bpf_map__update_elem(bytes, &k0, 4, vals, 8, 0));
  show_msg("  message");
  report("update bytes value ncpu*8",
         bpf_map__update_elem(bytes, &k0, 4, vals, vsz, 0));
  report("update bytes key 8",
         bpf_map__update_elem(bytes, &k0, 8, vals, vsz, 0));
  show_msg("  message");
  memset(vals, 0, vsz);
  report("lookup bytes", bpf_map__lookup_elem(bytes, &k0, 4, vals, vsz, 0));
  printf("  value[0] %llu value[last] %llu\n", (unsigned long long)vals[0],
         (unsigned long long)vals[ncpu - 1] - (ncpu - 1));
  report("lookup bytes value ncpu*8+1",
         bpf_map__lookup_elem(bytes, &k0, 4, vals, vsz + 1, 0));
  show_msg("  message");
  report("delete bytes (array)", bpf_map__delete_elem(bytes, &k0, 4, 0));
  report("delete bytes key 2", bpf_map__delete_elem(bytes, &k0, 2, 0));
  show_msg("  message");
  __u32 next = 99;
  report("get_next_key bytes NULL",
         bpf_map__get_next_key(bytes, NULL, &next, 4));
  printf("  next %u\n", next);
  report("get_next_key bytes key 8",
         bpf_map__get_next_key(bytes, NULL, &next, 8));
  show_msg("  message");
  __u16 proto = 0x800;
  report("update pkts",
         bpf_map__update_elem(pkts, &proto, 2, vals, vsz, BPF_NOEXIST));
  report("update pkts NOEXIST again",
         bpf_map__update_elem(pkts, &proto, 2, vals, vsz, BPF_NOEXIST));
  report("lookup_and_delete pkts",
         bpf_map__lookup_and_delete_elem(pkts, &proto, 2, vals, vsz, 0));
  report("lookup_and_delete pkts again",
         bpf_map__lookup_and_delete_elem(pkts, &proto, 2, vals, vsz, 0));
  report("lookup_and_delete pkts value 8",
         bpf_map__lookup_and_delete_elem(pkts, &proto, 2, vals, 8, 0));
  show_msg("  message");

  // reuse_fd: a second copy of the object shares the first one's map.
  struct bpf_object *obj2 = open_obj(path);
  struct bpf_map *bytes2 = bpf_object__find_map_by_name(obj2, "bytes");
  report("reuse_fd", bpf_map__reuse_fd(bytes2, bpf_map__fd(bytes)));
  report("reuse_fd of a closed fd", bpf_map__reuse_fd(bytes2, 9999));
  report("set_max_entries on reused map", bpf_map__set_max_entries(bytes2, 1));
  report("set_value_size on reused map", bpf_map__set_value_size(bytes2, 8));
  report("load second object", bpf_object__load(obj2));
  printf(
      "reused map is the same: %s\n",
      map_id(bpf_map__fd(bytes2)) == map_id(bpf_map__fd(bytes)) ? "yes" : "no");
  memset(vals, 0, vsz);
  report("lookup through reused map",
         bpf_map__lookup_elem(bytes2, &k0, 4, vals, vsz, 0));
  printf("  value[0] %llu\n", (unsigned long long)vals[0]);
  bpf_object__close(obj2);

  // Pinning through the object API.
  char dir[128], path1[192];
  snprintf(dir, sizeof(dir), "/sys/fs/bpf/abi_%d", (int)getpid());
  snprintf(path1, sizeof(path1), "%s/bytes", dir);
  // Single-map pinning on a map of its own: the emulator cannot pin a
  // map again once its last pin is gone (docs/dropin.md), so pin_maps
  // below uses maps never pinned before.
  struct bpf_object *pobj = open_obj(path);
  report("load pin object", bpf_object__load(pobj));
  struct bpf_map *pb = bpf_object__find_map_by_name(pobj, "bytes");
  printf("pin_path before %s\n", bpf_map__pin_path(pb) ? "set" : "NULL");
  report("is_pinned before", bpf_map__is_pinned(pb));
  report("pin NULL path", bpf_map__pin(pb, NULL));
  show_msg("  message");
  report("pin (makes the parent dir)", bpf_map__pin(pb, path1));
  report("is_pinned", bpf_map__is_pinned(pb));
  printf("pin_path is ours: %s\n",
         bpf_map__pin_path(pb) && !strcmp(bpf_map__pin_path(pb), path1) ? "yes"
                                                                        : "no");
  report("pin again same path", bpf_map__pin(pb, path1));
  report("pin at another path", bpf_map__pin(pb, "/sys/fs/bpf/other"));
  show_msg("  message");
  int got = bpf_obj_get(path1);
  report("obj_get of the pin", got < 0 ? got : 0);
  printf("pinned map is the same: %s\n",
         map_id(got) == map_id(bpf_map__fd(pb)) ? "yes" : "no");
  if (got >= 0) close(got);
  report("unpin other path", bpf_map__unpin(pb, "/sys/fs/bpf/nope"));
  show_msg("  message");
  report("unpin", bpf_map__unpin(pb, NULL));
  report("is_pinned after unpin", bpf_map__is_pinned(pb));
  report("unpin again", bpf_map__unpin(pb, NULL));
  report("set_pin_path NULL", bpf_map__set_pin_path(pb, NULL));
  report("pin outside bpffs", bpf_map__pin(pb, "/tmp/abi_not_bpffs"));
  show_msg("  message");
  report("set_pin_path NULL again", bpf_map__set_pin_path(pb, NULL));
  printf("map names: %s %s\n", bpf_map__name(bytes), bpf_map__name(pkts));
  report("pin_maps dir", bpf_object__pin_maps(obj, dir));
  char p2[256];
  snprintf(p2, sizeof(p2), "%s/bytes", dir);
  got = bpf_obj_get(p2);
  report("obj_get dir/bytes", got < 0 ? got : 0);
  if (got >= 0) close(got);
  snprintf(p2, sizeof(p2), "%s/packets_by_pro", dir);
  got = bpf_obj_get(p2);
  report("obj_get dir/packets_by_pro", got < 0 ? got : 0);
  if (got >= 0) close(got);
  snprintf(p2, sizeof(p2), "%s/packets_by_proto", dir);
  got = bpf_obj_get(p2);
  report("obj_get dir/packets_by_proto", got < 0 ? got : 0);
  if (got >= 0) close(got);
  report("pin_maps again (pinned: no-op)", bpf_object__pin_maps(obj, dir));
  report("unpin_maps dir", bpf_object__unpin_maps(obj, dir));
  report("unpin_maps again", bpf_object__unpin_maps(obj, dir));
  report("rmdir dir", rmdir(dir));
  bpf_object__close(pobj);
  report("pin_maps of unloaded object",
         bpf_object__pin_maps(open_obj(path), dir));

  // A pin path set before load: the first object pins, the second reuses.
  snprintf(path1, sizeof(path1), "/sys/fs/bpf/abi_%d_auto", (int)getpid());
  struct bpf_object *a = open_obj(path), *b = open_obj(path);
  struct bpf_map *ma = bpf_object__find_map_by_name(a, "bytes");
  struct bpf_map *mb = bpf_object__find_map_by_name(b, "bytes");
  report("set_pin_path a", bpf_map__set_pin_path(ma, path1));
  report("set_pin_path b", bpf_map__set_pin_path(mb, path1));
  report("load a (creates and pins)", bpf_object__load(a));
  report("a is_pinned", bpf_map__is_pinned(ma));
  report("load b (reuses the pin)", bpf_object__load(b));
  report("b is_pinned", bpf_map__is_pinned(mb));
  printf("b's map is a's: %s\n",
         map_id(bpf_map__fd(ma)) == map_id(bpf_map__fd(mb)) ? "yes" : "no");
  struct bpf_object *c = open_obj(path);
  struct bpf_map *mc = bpf_object__find_map_by_name(c, "bytes");
  bpf_map__set_pin_path(mc, path1);
  bpf_map__set_max_entries(mc, 2);
  report("load c (pinned map differs)", bpf_object__load(c));
  report("unpin a", bpf_map__unpin(ma, NULL));
  bpf_object__close(a);
  bpf_object__close(b);
  bpf_object__close(c);
  free(vals);
  report("program fd before unload", bpf_program__fd(prog) > 2);
  bpf_program__unload(prog);
  report("program fd after unload", bpf_program__fd(prog));
  bpf_object__close(obj);
}

// XDP on lo (ifindex 1) through libbpf's netlink calls: generic mode only
// (lo has no native XDP), the attach flags' errnos, query and query_id.
// The program passes every packet, so lo keeps working while it is
// attached; it is detached before the section ends.
static int xdp_prog(enum bpf_prog_type type, enum bpf_attach_type attach) {
  const struct bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = XDP_PASS},
      {.code = BPF_JMP | BPF_EXIT},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = attach);
  return bpf_prog_load(type, "pass", "GPL", insns, 2, &o);
}

static __u32 prog_id(int fd) {
  struct bpf_prog_info info = {};
  __u32 len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len)) return 0;
  return info.id;
}

static void xdp(void) {
  const int lo = 1;
  int p = xdp_prog(BPF_PROG_TYPE_XDP, 0);
  int q = xdp_prog(BPF_PROG_TYPE_XDP, 0);
  int tc = xdp_prog(BPF_PROG_TYPE_SCHED_CLS, 0);
  int devmap = xdp_prog(BPF_PROG_TYPE_XDP, BPF_XDP_DEVMAP);
  report("xdp: programs loaded", p > 2 && q > 2 && tc > 2 && devmap > 2);
  LIBBPF_OPTS(bpf_xdp_query_opts, qo);
  report("xdp_query lo", bpf_xdp_query(lo, 0, &qo));
  report("  attach_mode", qo.attach_mode);
  report("xdp_query bad flags", bpf_xdp_query(lo, 1 << 7, &qo));
  report("xdp_query two modes",
         bpf_xdp_query(lo, XDP_FLAGS_SKB_MODE | XDP_FLAGS_DRV_MODE, &qo));
  report("xdp_query no such device", bpf_xdp_query(1000000, 0, &qo));
  report("  attach_mode", qo.attach_mode);
  report("xdp_attach ifindex 0", bpf_xdp_attach(0, p, 0, NULL));
  report("xdp_attach no such device", bpf_xdp_attach(1000000, p, 0, NULL));
  report("xdp_attach bad flags", bpf_xdp_attach(lo, p, 1 << 7, NULL));
  report("xdp_attach two modes",
         bpf_xdp_attach(lo, p, XDP_FLAGS_SKB_MODE | XDP_FLAGS_DRV_MODE, NULL));
  report("xdp_attach closed fd", bpf_xdp_attach(lo, 1000, 0, NULL));
  report("xdp_attach tc program", bpf_xdp_attach(lo, tc, 0, NULL));
  report("xdp_attach devmap program", bpf_xdp_attach(lo, devmap, 0, NULL));
  report("xdp_attach native mode",
         bpf_xdp_attach(lo, p, XDP_FLAGS_DRV_MODE, NULL));
  report("xdp_attach offload mode",
         bpf_xdp_attach(lo, p, XDP_FLAGS_HW_MODE, NULL));
  report("xdp_attach (generic by default)", bpf_xdp_attach(lo, p, 0, NULL));
  memset(&qo, 0, sizeof(qo));
  qo.sz = sizeof(qo);
  report("xdp_query", bpf_xdp_query(lo, 0, &qo));
  report("  attach_mode", qo.attach_mode);
  report("  prog_id is p", qo.prog_id == prog_id(p));
  report("  skb_prog_id is p", qo.skb_prog_id == prog_id(p));
  report("  drv/hw prog ids", qo.drv_prog_id + qo.hw_prog_id);
  __u32 id = 0;
  report("xdp_query_id", bpf_xdp_query_id(lo, 0, &id));
  report("  is p", id == prog_id(p));
  report("xdp_query_id drv mode",
         bpf_xdp_query_id(lo, XDP_FLAGS_DRV_MODE, &id));
  report("  id", id);
  report("xdp_attach again, UPDATE_IF_NOEXIST",
         bpf_xdp_attach(lo, q, XDP_FLAGS_UPDATE_IF_NOEXIST, NULL));
  LIBBPF_OPTS(bpf_xdp_attach_opts, wrong, .old_prog_fd = q);
  report("xdp_attach replace, wrong old", bpf_xdp_attach(lo, q, 0, &wrong));
  report("xdp_attach REPLACE without old",
         bpf_xdp_attach(lo, q, XDP_FLAGS_REPLACE, NULL));
  LIBBPF_OPTS(bpf_xdp_attach_opts, right, .old_prog_fd = p);
  report("xdp_attach replace p by q", bpf_xdp_attach(lo, q, 0, &right));
  report("xdp_query_id skb mode",
         bpf_xdp_query_id(lo, XDP_FLAGS_SKB_MODE, &id));
  report("  is q", id == prog_id(q));
  report("xdp_attach native mode over generic",
         bpf_xdp_attach(lo, p, XDP_FLAGS_DRV_MODE, NULL));
  struct bpf_xdp_attach_opts bad = {.sz = 4};
  report("xdp_detach bad opts", bpf_xdp_detach(lo, 0, &bad));
  report("xdp_detach", bpf_xdp_detach(lo, 0, NULL));
  report("xdp_query_id after detach", bpf_xdp_query_id(lo, 0, &id));
  report("  id", id);
  report("xdp_detach nothing", bpf_xdp_detach(lo, XDP_FLAGS_SKB_MODE, NULL));
  close(p);
  close(q);
  close(tc);
  close(devmap);
}

// tc on lo through libbpf's netlink calls (bpf_tc_*): the clsact qdisc,
// cls_bpf filters on its ingress and egress hooks with explicit and
// kernel-chosen handles and priorities, replace, query, detach, flush and
// destroy, and the argument checks of libbpf and of the kernel. The
// programs return TC_ACT_OK, so lo keeps working while they are attached;
// the qdisc is destroyed before the section ends.
static int tc_ok_prog(enum bpf_prog_type type) {
  const struct bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0},
      {.code = BPF_JMP | BPF_EXIT},
  };
  return bpf_prog_load(type, "tc_ok", "GPL", insns, 2, NULL);
}

static void tc_opts_show(const struct bpf_tc_opts *o, int p, int q) {
  printf("  handle %u priority %u prog %s\n", o->handle, o->priority,
         o->prog_id == 0            ? "0"
         : o->prog_id == prog_id(p) ? "p"
         : o->prog_id == prog_id(q) ? "q"
                                    : "other");
}

static void tc_query_show(const char *what, struct bpf_tc_hook *h, __u32 handle,
                          __u32 prio, int p, int q) {
  LIBBPF_OPTS(bpf_tc_opts, o, .handle = handle, .priority = prio);
  report(what, bpf_tc_query(h, &o));
  tc_opts_show(&o, p, q);
}

static void tc(void) {
  const int lo = 1;
  int p = tc_ok_prog(BPF_PROG_TYPE_SCHED_CLS);
  int q = tc_ok_prog(BPF_PROG_TYPE_SCHED_CLS);
  int x = xdp_prog(BPF_PROG_TYPE_XDP, 0);
  int act = tc_ok_prog(BPF_PROG_TYPE_SCHED_ACT);
  report("tc: programs loaded", p > 2 && q > 2 && x > 2 && act > 2);
  LIBBPF_OPTS(bpf_tc_hook, both, .ifindex = lo,
              .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
  LIBBPF_OPTS(bpf_tc_hook, in, .ifindex = lo, .attach_point = BPF_TC_INGRESS);
  LIBBPF_OPTS(bpf_tc_hook, eg, .ifindex = lo, .attach_point = BPF_TC_EGRESS);
  LIBBPF_OPTS(bpf_tc_hook, h);
  // The hook's argument checks.
  report("tc_hook_create NULL", bpf_tc_hook_create(NULL));
  h = both;
  h.sz = 4;
  report("tc_hook_create bad sz", bpf_tc_hook_create(&h));
  h = both;
  h.ifindex = 0;
  report("tc_hook_create ifindex 0", bpf_tc_hook_create(&h));
  h = both;
  h.parent = BPF_TC_PARENT(1, 0);
  report("tc_hook_create with parent", bpf_tc_hook_create(&h));
  h = both;
  h.attach_point = 0;
  report("tc_hook_create no attach point", bpf_tc_hook_create(&h));
  h.attach_point = BPF_TC_CUSTOM;
  report("tc_hook_create custom", bpf_tc_hook_create(&h));
  h = both;
  h.ifindex = 1000000;
  report("tc_hook_create no such device", bpf_tc_hook_create(&h));
  report("tc_hook_destroy no such device", bpf_tc_hook_destroy(&h));
  LIBBPF_OPTS(bpf_tc_opts, o, .prog_fd = p, .handle = 1, .priority = 1);
  h = in;
  h.ifindex = 1000000;
  report("tc_attach no such device", bpf_tc_attach(&h, &o));
  report("tc_attach before the hook", bpf_tc_attach(&in, &o));
  report("tc_hook_create", bpf_tc_hook_create(&both));
  report("tc_hook_create again", bpf_tc_hook_create(&both));
  report("tc_hook_create ingress only", bpf_tc_hook_create(&in));
  // An empty hook.
  tc_query_show("tc_query empty hook", &in, 1, 1, p, q);
  LIBBPF_OPTS(bpf_tc_opts, d, .handle = 1, .priority = 1);
  report("tc_detach empty hook", bpf_tc_detach(&in, &d));
  // bpf_tc_attach's argument checks.
  report("tc_attach NULL opts", bpf_tc_attach(&in, NULL));
  report("tc_attach NULL hook", bpf_tc_attach(NULL, &o));
  struct bpf_tc_opts bad = o;
  bad.sz = 4;
  report("tc_attach bad opts sz", bpf_tc_attach(&in, &bad));
  bad = o;
  bad.prog_fd = 0;
  report("tc_attach no prog_fd", bpf_tc_attach(&in, &bad));
  bad = o;
  bad.prog_id = 1;
  report("tc_attach with prog_id", bpf_tc_attach(&in, &bad));
  bad = o;
  bad.priority = 0x10000;
  report("tc_attach priority > 0xffff", bpf_tc_attach(&in, &bad));
  bad = o;
  bad.flags = 2;
  report("tc_attach bad flags", bpf_tc_attach(&in, &bad));
  h = in;
  h.attach_point = 0;
  report("tc_attach no attach point", bpf_tc_attach(&h, &o));
  h.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
  report("tc_attach both attach points", bpf_tc_attach(&h, &o));
  h.attach_point = BPF_TC_CUSTOM;
  report("tc_attach custom without parent", bpf_tc_attach(&h, &o));
  h = in;
  h.parent = BPF_TC_PARENT(0xffff, 0xfff2);
  report("tc_attach ingress with parent", bpf_tc_attach(&h, &o));
  h.attach_point = BPF_TC_CUSTOM;
  h.parent = BPF_TC_PARENT(0xffff, 1);
  report("tc_attach custom, no such class", bpf_tc_attach(&h, &o));
  h.parent = BPF_TC_PARENT(0x10, 0);
  report("tc_attach custom, no such qdisc", bpf_tc_attach(&h, &o));
  bad = o;
  bad.prog_fd = 1000;
  report("tc_attach closed fd", bpf_tc_attach(&in, &bad));
  bad.prog_fd = x;
  report("tc_attach xdp program", bpf_tc_attach(&in, &bad));
  bad.prog_fd = act;
  report("tc_attach sched_act program", bpf_tc_attach(&in, &bad));
  report("  prog_id untouched", bad.prog_id);
  // Filters.
  report("tc_attach ingress 1/1", bpf_tc_attach(&in, &o));
  tc_opts_show(&o, p, q);
  report("tc_attach again, prog_id filled", bpf_tc_attach(&in, &o));
  o.prog_id = 0;
  report("tc_attach again", bpf_tc_attach(&in, &o));
  LIBBPF_OPTS(bpf_tc_opts, r, .prog_fd = q, .handle = 1, .priority = 1,
              .flags = BPF_TC_F_REPLACE);
  report("tc_attach replace 1/1 by q", bpf_tc_attach(&in, &r));
  tc_opts_show(&r, p, q);
  LIBBPF_OPTS(bpf_tc_opts, a, .prog_fd = p);
  report("tc_attach ingress 0/0", bpf_tc_attach(&in, &a));
  tc_opts_show(&a, p, q);
  memset(&a, 0, sizeof(a));
  a.sz = sizeof(a);
  a.prog_fd = q;
  report("tc_attach ingress 0/0 again", bpf_tc_attach(&in, &a));
  tc_opts_show(&a, p, q);
  LIBBPF_OPTS(bpf_tc_opts, b, .prog_fd = p, .priority = 1);
  report("tc_attach ingress 0/1", bpf_tc_attach(&in, &b));
  tc_opts_show(&b, p, q);
  LIBBPF_OPTS(bpf_tc_opts, c, .prog_fd = p, .priority = 0x8000);
  report("tc_attach ingress 0/0x8000", bpf_tc_attach(&in, &c));
  tc_opts_show(&c, p, q);
  memset(&c, 0, sizeof(c));
  c.sz = sizeof(c);
  c.prog_fd = p;
  report("tc_attach ingress 0/0 after 0x8000", bpf_tc_attach(&in, &c));
  LIBBPF_OPTS(bpf_tc_opts, e, .prog_fd = p, .handle = 7, .priority = 3);
  report("tc_attach egress 7/3", bpf_tc_attach(&eg, &e));
  tc_opts_show(&e, p, q);
  LIBBPF_OPTS(bpf_tc_opts, f, .prog_fd = q, .flags = BPF_TC_F_REPLACE);
  report("tc_attach egress 0/0 REPLACE", bpf_tc_attach(&eg, &f));
  tc_opts_show(&f, p, q);
  LIBBPF_OPTS(bpf_tc_opts, g, .prog_fd = q, .handle = 9, .priority = 4,
              .flags = BPF_TC_F_REPLACE);
  report("tc_attach egress 9/4 REPLACE, new", bpf_tc_attach(&eg, &g));
  tc_opts_show(&g, p, q);
  LIBBPF_OPTS(bpf_tc_opts, big, .prog_fd = p, .handle = 0x80000000u,
              .priority = 5);
  report("tc_attach egress 0x80000000/5", bpf_tc_attach(&eg, &big));
  tc_opts_show(&big, p, q);
  // Queries.
  close(q);
  tc_query_show("tc_query ingress 1/1 (q closed)", &in, 1, 1, p, q);
  tc_query_show("tc_query ingress 2/1", &in, 2, 1, p, q);
  tc_query_show("tc_query ingress 1/49152", &in, 1, 49152, p, q);
  tc_query_show("tc_query ingress 1/49151", &in, 1, 49151, p, q);
  tc_query_show("tc_query ingress 9/1", &in, 9, 1, p, q);
  tc_query_show("tc_query ingress 1/2", &in, 1, 2, p, q);
  tc_query_show("tc_query egress 7/3", &eg, 7, 3, p, q);
  tc_query_show("tc_query egress 1/1", &eg, 1, 1, p, q);
  h = in;
  h.ifindex = 1000000;
  tc_query_show("tc_query no such device", &h, 1, 1, p, q);
  LIBBPF_OPTS(bpf_tc_opts, qo, .handle = 1, .priority = 1);
  report("tc_query NULL opts", bpf_tc_query(&in, NULL));
  qo.handle = 0;
  report("tc_query handle 0", bpf_tc_query(&in, &qo));
  qo.handle = 1;
  qo.priority = 0;
  report("tc_query priority 0", bpf_tc_query(&in, &qo));
  qo.priority = 0x10000;
  report("tc_query priority > 0xffff", bpf_tc_query(&in, &qo));
  qo.priority = 1;
  qo.prog_fd = p;
  report("tc_query with prog_fd", bpf_tc_query(&in, &qo));
  qo.prog_fd = 0;
  qo.prog_id = 1;
  report("tc_query with prog_id", bpf_tc_query(&in, &qo));
  qo.prog_id = 0;
  qo.flags = BPF_TC_F_REPLACE;
  report("tc_query with flags", bpf_tc_query(&in, &qo));
  // Detach.
  report("tc_detach NULL opts", bpf_tc_detach(&in, NULL));
  LIBBPF_OPTS(bpf_tc_opts, dd, .handle = 1, .priority = 1);
  dd.handle = 0;
  report("tc_detach handle 0", bpf_tc_detach(&in, &dd));
  dd.handle = 1;
  dd.priority = 0;
  report("tc_detach priority 0", bpf_tc_detach(&in, &dd));
  dd.priority = 1;
  dd.prog_fd = p;
  report("tc_detach with prog_fd", bpf_tc_detach(&in, &dd));
  dd.prog_fd = 0;
  dd.prog_id = 1;
  report("tc_detach with prog_id", bpf_tc_detach(&in, &dd));
  dd.prog_id = 0;
  dd.flags = BPF_TC_F_REPLACE;
  report("tc_detach with flags", bpf_tc_detach(&in, &dd));
  dd.flags = 0;
  h = in;
  h.ifindex = 1000000;
  report("tc_detach no such device", bpf_tc_detach(&h, &dd));
  report("tc_detach ingress 1/1", bpf_tc_detach(&in, &dd));
  report("tc_detach ingress 1/1 again", bpf_tc_detach(&in, &dd));
  tc_query_show("tc_query ingress 1/1 detached", &in, 1, 1, p, q);
  tc_query_show("tc_query ingress 2/1 kept", &in, 2, 1, p, q);
  dd.handle = 2;
  report("tc_detach ingress 2/1", bpf_tc_detach(&in, &dd));
  tc_query_show("tc_query ingress 2/1 detached", &in, 2, 1, p, q);
  // Flushing one hook, then the qdisc.
  report("tc_hook_destroy ingress (flush)", bpf_tc_hook_destroy(&in));
  tc_query_show("tc_query ingress after flush", &in, 1, 49152, p, q);
  tc_query_show("tc_query egress after flush", &eg, 7, 3, p, q);
  report("tc_detach ingress after flush", bpf_tc_detach(&in, &dd));
  report("tc_hook_destroy ingress again", bpf_tc_hook_destroy(&in));
  h = both;
  h.attach_point = 0;
  report("tc_hook_destroy no attach point", bpf_tc_hook_destroy(&h));
  h.attach_point = BPF_TC_CUSTOM;
  report("tc_hook_destroy custom", bpf_tc_hook_destroy(&h));
  h = both;
  h.ifindex = 0;
  report("tc_hook_destroy ifindex 0", bpf_tc_hook_destroy(&h));
  report("tc_hook_destroy NULL", bpf_tc_hook_destroy(NULL));
  report("tc_hook_destroy", bpf_tc_hook_destroy(&both));
  tc_query_show("tc_query egress, no qdisc", &eg, 7, 3, p, q);
  report("tc_detach egress, no qdisc", bpf_tc_detach(&eg, &e));
  report("tc_hook_destroy egress, no qdisc", bpf_tc_hook_destroy(&eg));
  report("tc_hook_destroy again", bpf_tc_hook_destroy(&both));
  report("tc_hook_create after destroy", bpf_tc_hook_create(&in));
  tc_query_show("tc_query egress, new qdisc", &eg, 7, 3, p, q);
  report("tc_hook_destroy the new one", bpf_tc_hook_destroy(&both));
  close(p);
  close(x);
  close(act);
}

int main(int argc, char **argv) {
  libbpf_print_fn_t old = libbpf_set_print(capture);
  printf("default print installed: %s\n", old ? "yes" : "no");
  misc();
  tables();
  if (argc > 1) objects(argv[1]);
  if (argc > 1) xdp();
  if (argc > 1) tc();
  report("set_print back", libbpf_set_print(old) == capture);
  return 0;
}
