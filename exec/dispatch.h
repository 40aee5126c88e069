// SPDX-License-Identifier: Apache-2.0
// File: dispatch.h
//
// __sys_bpf() (kernel/bpf/syscall.c) for a supervised process: the attr
// size rules, CHECK_ATTR, and each served command run on the emulator with
// the caller's buffers copied in and out (call.h); plus the file calls the
// supervisor answers for paths that name its objects (docs/exec.md).

#ifndef BPFEMU_EXEC_DISPATCH_H_
#define BPFEMU_EXEC_DISPATCH_H_

#include <linux/seccomp.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "exec/call.h"
#include "exec/ring_poll.h"

namespace bpfemu {
struct Prog;
}  // namespace bpfemu

namespace bpfemu::exec {

// The thread group of caller thread `tid` (/proc/TID/status), or tid.
pid_t CallerTgidOf(pid_t tid);

// The emulated objects a supervisor's children hold, and the calls that
// reach them: Serve() runs one bpf(cmd, uattr, size) on the emulator and
// returns what the system call returns (>= 0) or -errno.
class Dispatcher {
 public:
  Dispatcher() = default;
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;
  // The emulator's fd of the map with `id`, or -1; the ids held; the
  // descriptors held (Supervisor::MapFdForId, MapIds, OpenFds).
  int MapFdForId(uint32_t id) const;
  std::vector<uint32_t> MapIds() const;
  size_t OpenFds() const;

  int64_t Serve(Call& call, int cmd, uint64_t uattr, uint32_t size);
  // open / openat / readlink / readlinkat (x86-64 numbers) of a /proc path
  // naming one of the caller's map or program fds: true with *ret set when
  // answered here, false to let the call run natively.
  bool ServeProc(Call& call, const struct seccomp_data& d, int64_t* ret);
  // After a served bpf() call: ring buffer wake-ups it caused reach the
  // epoll instances that watch the rings (ring_poll.h).
  void WakeRingReaders() {
    if (!polls_.empty()) polls_.Signal();
  }
  // Lost answers. Around each call: NewCall() before it; Answered() after
  // its answer, delivered or not. A served call whose answer could not be
  // delivered (Call::Answer: the caller died, or a signal interrupted its
  // wait and the kernel restarts the system call as a new notification -
  // Go preempts threads with SIGURG) is passed to Unanswered(). The kernel
  // would have finished the call before the signal ran, so its effects
  // stay and the answer is kept: the caller's next call, if it is the same
  // call (Replay: the same number, arguments and attr), gets that answer -
  // the same fd of the same object, installed again, the same 0 for a pin
  // - without being served again. If the caller's next call is another
  // one, or it is gone, what the lost call made is undone instead (the
  // undo entries each command leaves: a map, program, BTF object, perf
  // event or stats file it entered in the tables; a pin or a bpffs
  // directory stays, as the kernel's finished call left it). Not kept: an
  // epoll_ctl ADD (its item is taken out at once, ring_poll.h
  // RingPolls::Unanswered), a test run (TestRun answers the restarted call
  // EINTR, as bpf_test_timer_continue), a call whose caller could not take its
  // fd (EMFILE: undone at once).
  void NewCall() {
    undo_.clear();
    polls_.NewCall();
  }
  // Before serving: true with *r set (and the fd to install named on `c`)
  // when the call is a restart of this caller's lost call.
  bool Replay(Call& c, const struct seccomp_notif& n, int64_t* r);
  // `r` was the answer; `keep`: whether it may be kept for a restart.
  void Unanswered(Call& c, const struct seccomp_notif& n, int64_t r, bool keep);
  void Answered();
  // Undoes every kept answer (the supervisor stops serving).
  void DropLost();

 private:
  struct FileKey {
    uint64_t dev, ino;
    int acc;  // O_RDONLY, O_WRONLY or O_RDWR (0 for programs and BTF)
    bool operator<(const FileKey& o) const {
      return std::tie(dev, ino, acc) < std::tie(o.dev, o.ino, o.acc);
    }
  };
  // The emulator's fd for the caller's map fd: 0 with *local set, or
  // -EBADF / -EINVAL (not a map).
  int LocalMap(Call& c, int child_fd, int* local);
  int LocalMapSlow(Call& c, int child_fd, int* local);
  // The last resolution of (caller tid, fd), if that fd is still the same
  // file (kcmp): kind 1 map, 2 program, 3 BTF.
  bool Cached(Call& c, int child_fd, int kind, int* local);
  void Remember(Call& c, int child_fd, int kind, int local);
  // The same for a program fd, and for a BTF fd.
  int LocalProg(Call& c, int child_fd, int* local);
  int LocalBtf(Call& c, int child_fd, int* local);
  // LocalProg and LocalBtf: the object of `table` behind the caller's fd
  // (cache kind `kind`), -EBADF, or -EINVAL for another file.
  int LocalObject(Call& c, int child_fd, int kind,
                  const std::map<FileKey, int>& table, int* local);
  // Gives the caller the map behind the emulator's fd `local` (just
  // returned by the emulator, with access readable / writable): its file
  // is the call's answer (Call::AnswerWithFd). Takes `local`. 0, or
  // -errno.
  int GiveMap(Call& c, int local, bool readable, bool writable);
  int GiveProg(Call& c, int local) { return GiveObject(c, local, &progs_); }
  int GiveBtf(Call& c, int local) { return GiveObject(c, local, &btfs_); }
  // The same for the program or BTF object behind `local` (a memfd of the
  // emulator's, entered in `table`). Takes `local`.
  int GiveObject(Call& c, int local, std::map<FileKey, int>* table);
  // epoll_ctl naming a ring buffer fd, and the epoll_wait family
  // (ring_poll.h): true with *ret set when answered here.
  bool ServeEpoll(Call& c, uint32_t nr, const struct seccomp_data& d,
                  int64_t* ret);
  RingPolls polls_;
  // What the current call made, to be undone if its answer is lost.
  std::vector<std::function<void()>> undo_;
  // Lost answers kept for the restart, by caller tid.
  struct Lost {
    struct seccomp_data data;
    std::vector<uint8_t> attr;  // a bpf() call's attr, as read then
    // Every range of the caller's memory the call read, as it was left.
    std::vector<Call::Seen> seen;
    int64_t r;
    int fd;  // the file the answer installs, or -1
    bool cloexec;
    std::vector<std::function<void()>> undo;
  };
  std::map<pid_t, Lost> lost_;
  // The attr of bpf() call `d` (up to the kernel's union), as the caller
  // holds it now; empty for other calls.
  static std::vector<uint8_t> AttrOf(const Call& c,
                                     const struct seccomp_data& d);
  static bool IsBpfCall(const struct seccomp_data& d);
  void Undo(Lost* l);
  // Undo entry: the emulator's fd `local` entered under `key` in `table`
  // by this call (and its held_ entry, for maps) leaves the table and is
  // closed.
  void UndoEntry(std::map<FileKey, int>* table, const FileKey& key);
  // The files other processes hold (fds and mappings), scanned once per
  // Undo() by its first entry that asks.
  const std::set<std::pair<uint64_t, uint64_t>>& HeldForUndo();
  std::optional<std::set<std::pair<uint64_t, uint64_t>>> undo_held_;
  // statfs / mkdir / rmdir / unlink of a path below the emulated bpffs.
  bool ServeBpffs(Call& c, uint32_t nr, const struct seccomp_data& d,
                  int64_t* ret);
  // perf_event_open of a BPF output event, and ioctl(PERF_EVENT_IOC_ENABLE
  // / _DISABLE) of one (perf_open.cc): true with *ret set when answered
  // here.
  bool ServePerf(Call& c, uint32_t nr, const struct seccomp_data& d,
                 int64_t* ret);
  // mmap of the emulated perf event `local`: perf_mmap's checks; false to
  // let the caller's mapping continue.
  bool ServePerfMmap(Call& c, int local, const struct seccomp_data& d,
                     int64_t* ret);
  // The emulated perf event behind the caller's fd (cache kind 4), or
  // -EBADF / -EINVAL.
  int LocalPerf(Call& c, int child_fd, int* local);
  // Whether a PERF_EVENT_ARRAY this supervisor holds stores event `id`.
  bool PerfEventReferenced(uint32_t id) const;
  // Emulated perf events handed out: dev/ino -> the emulator's fd
  // (emu/perf_event.h's registry knows it).
  std::map<FileKey, int> perfs_;
  // Without attaching anything: 1 if the caller's fd is a map this
  // supervisor handed out, 2 a program, 3 a perf event, 0 neither;
  // *local as LocalMap.
  int Identify(Call& c, int child_fd, int* local);

  int64_t MapCreate(Call& c, const uint8_t* attr);
  int64_t Elem(Call& c, int cmd, const uint8_t* attr);
  // BPF_MAP_UPDATE_ELEM on a REUSEPORT_SOCKARRAY: `value` holds the
  // caller's socket fd.
  int64_t UpdateWithCallerSocket(Call& c, int local, const void* key,
                                 std::vector<uint8_t>* value, uint64_t flags);
  int64_t Batch(Call& c, int cmd, uint64_t uattr, const uint8_t* attr);
  int64_t ObjPin(Call& c, const uint8_t* attr);
  int64_t ObjGet(Call& c, const uint8_t* attr);
  // Program pins (kept by this supervisor): 0 or -errno; the emulator's
  // new program fd for a pinned path, or -1 if it names none.
  int PinProg(int local, const std::string& abs);
  int PinnedProg(const std::string& abs);
  // Cgroup link pins (kept by this supervisor while the pin file exists):
  // 0 or -errno; a new emulator fd of the link a path pins, or -1.
  int PinLink(int local, const std::string& abs);
  int PinnedLink(const std::string& abs);
  // Makes a pin file on the emulated bpffs holding the line `what`, as
  // bpf_obj_do_pin makes a pin (a new name: EEXIST, mode 0600 minus
  // umask): its fd (open) with *key its dev/ino, or -errno.
  int MakePin(const std::string& abs, const std::string& what, FileKey* key);
  int64_t GetInfo(Call& c, uint64_t uattr, const uint8_t* attr);
  int64_t NextId(Call& c, int cmd, uint64_t uattr, const uint8_t* attr);
  int64_t FdById(Call& c, int cmd, const uint8_t* attr);
  int64_t ProgLoad(Call& c, uint64_t uattr, const uint8_t* attr, uint32_t size);
  int64_t BtfLoad(Call& c, uint64_t uattr, const uint8_t* attr, uint32_t size);
  // BPF_OBJ_GET_INFO_BY_FD of a BTF object: the blob and name pointers are
  // the caller's.
  int64_t BtfInfo(Call& c, uint64_t uattr, int local, uint64_t info_ptr,
                  uint32_t info_len);
  int64_t TestRun(Call& c, uint64_t uattr, const uint8_t* attr);
  int64_t ProgInfo(Call& c, int local, std::vector<uint8_t>* buf,
                   uint32_t* len);
  int64_t BindMap(Call& c, const uint8_t* attr);
  // BPF_PROG_ATTACH / BPF_PROG_DETACH / BPF_PROG_QUERY of cgroup programs
  // and BPF_LINK_CREATE / _UPDATE / _DETACH of cgroup links
  // (emu/cgroup_attach.h, with the caller's fds: CallerFds). Other attach
  // types: EPERM.
  int64_t CgroupAttach(Call& c, const uint8_t* attr);
  int64_t CgroupDetach(Call& c, const uint8_t* attr);
  int64_t ProgAttachOrDetach(Call& c, const uint8_t* attr, bool detach);
  int64_t CgroupQuery(Call& c, uint64_t uattr, const uint8_t* attr,
                      uint32_t size);
  int64_t LinkCreate(Call& c, const uint8_t* attr);
  int64_t LinkUpdate(Call& c, const uint8_t* attr);
  int64_t LinkDetach(Call& c, const uint8_t* attr);
  class CallerFds;
  // Cgroup links handed out: the caller holds one end of a socket pair
  // (dev/ino: the key; dispatch.cc HalfClosedPair), this supervisor the
  // other (write_end, shut for writing) and the emulator's link fd. Gives the
  // caller a new one for the emulator's link fd `local` (taken), as the call's
  // answer: 0 or -errno.
  struct LinkFile {
    int local;
    int write_end;
  };
  std::map<FileKey, LinkFile> links_;
  int GiveLink(Call& c, int local);
  // Releases the links whose caller end is closed everywhere (POLLHUP on
  // write_end): closing a link's last fd detaches it
  // (bpf_cgroup_link_release).
  void ReapLinks();
  int64_t EnableStats(Call& c, const uint8_t* attr);
  // BPF_PROG_STREAM_READ_BY_FD (6.17, emu/stream.h).
  int64_t StreamRead(Call& c, const uint8_t* attr);
  // Whether any stats file handed out is still open somewhere: each is the
  // read end of a pipe whose write end stays here (stats_), so that the
  // last close anywhere shows as POLLERR on it, as the kernel's static key
  // drops at the last release of a "bpf-stats" file.
  bool StatsOn();
  std::vector<int> stats_;

  // Map files handed out or seen, by identity and access mode: the
  // emulator's fd of each (registered with the matching access).
  std::map<FileKey, int> maps_;
  // Program files: dev/ino -> the emulator's program fd.
  std::map<FileKey, int> progs_;
  // BTF objects (memfds, emu/btf.h): dev/ino -> the emulator's BTF fd.
  std::map<FileKey, int> btfs_;
  // Program pin files (dev/ino) -> the emulator's program fd.
  std::map<FileKey, int> prog_pins_;
  // Cgroup link pin files (dev/ino) -> a copy of the emulator's link fd and
  // the pin file, open (its link count says when it is unlinked).
  struct LinkPin {
    int local;
    int file;
  };
  std::map<FileKey, LinkPin> link_pins_;
  // The emulator's own fds behind entries of maps_ that were reopened with
  // another access mode, by that entry's key.
  std::map<FileKey, int> held_;
  // The kernel frees a map, program or BTF object at its last file
  // reference: closes the emulator's fds of every handed-out object whose
  // file no other process holds open (/proc/PID/fd) and that nothing else
  // keeps (a pin, a program using the map, a map-in-map slot), so that the
  // emulator frees it. Run at the start of every id walk and every
  // kCollectEvery objects handed out.
  void Collect();
  static constexpr uint32_t kCollectEvery = 64;
  uint32_t given_ = 0;  // objects handed out since the last Collect()
  struct Resolved {
    int local;
    int kind;
  };
  std::map<std::pair<pid_t, int>, Resolved> fd_cache_;
  // The ids of the programs loaded through this dispatcher (their maps are
  // kept while they live: Collect).
  std::set<uint32_t> loaded_progs_;
  // Callers whose test run a signal interrupted: their next test run is
  // EINTR (TestRun).
  std::set<pid_t> interrupted_;
  // An open file that is not a map (/dev/null), opened on first use.
  int NotAMapFd();
  int not_a_map_ = -1;
};

}  // namespace bpfemu::exec

#endif  // BPFEMU_EXEC_INTERNAL_H_
