#include "collectors/fuse_probe.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace ibpath {
namespace {

constexpr std::size_t kAlign = 4096;
constexpr std::size_t kChunk = 1 << 20;
constexpr long kFuseSuperMagic = 0x65735546;  // FUSE_SUPER_MAGIC, linux/magic.h

std::atomic<int> g_stuck_reads{0};

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

std::string ErrnoText(const char* what, const std::string& path, int err) {
  return std::string(what) + " " + path + ": " + std::strerror(err);
}

// What the helper thread and the waiting caller share; the helper may
// outlive the caller.
struct ReadState {
  std::mutex mu;
  std::condition_variable done_cv;
  bool done = false;
  UncachedRead result;                // complete once done
  std::atomic<uint64_t> progress{0};  // bytes so far, for a timeout's report
  std::atomic<bool> abandon{false};   // the caller gave up: stop at the next chunk
  bool abandoned = false;             // guarded by mu; the helper then uncounts itself
  bool release = false;               // guarded by mu; the caller is done with the open file
};

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

// Returns the open file (or -1): the caller closes it once released, so the
// daemon's connection for it is still open when the window's end is sampled.
int ReadFile(const std::string& path, uint64_t max_bytes, ReadState& st) {
  UncachedRead& r = st.result;
  const auto t0 = std::chrono::steady_clock::now();
  // O_NONBLOCK so that a FIFO given by mistake does not hang the open; it
  // is cleared once the file is known to be a regular file on FUSE.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_DIRECT);
  r.cache_bypass = "o_direct";
  if (fd < 0 && errno == EINVAL) {  // the mount does not take O_DIRECT
    fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    r.cache_bypass = "fadvise";
  }
  if (fd < 0) {
    r.reason = "fuse_open";
    r.detail = ErrnoText("open", path, errno);
    r.cache_bypass.clear();
    return -1;
  }
  struct stat sb {};
  struct statfs fs {};
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || fstatfs(fd, &fs) != 0 ||
      static_cast<long>(fs.f_type) != kFuseSuperMagic) {
    close(fd);
    r.reason = "not_fuse";
    r.detail = path + " is not a regular file on a FUSE file system";
    r.cache_bypass.clear();
    return -1;
  }
  (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  auto drop_cache = [&] {
    // Best effort: a mount that keeps no page cache has nothing to drop.
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  };
  if (r.cache_bypass == "fadvise") drop_cache();
  r.open_seconds = Since(t0);
  void* raw = nullptr;
  if (posix_memalign(&raw, kAlign, kChunk) != 0) {
    close(fd);
    r.reason = "agent";
    r.detail = "out of memory";
    return fd;
  }
  std::unique_ptr<void, FreeDeleter> buf(raw);
  const auto t1 = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point first{};
  bool got_first = false;
  uint64_t total = 0;
  bool retried_without_direct = false;
  while (total < max_bytes) {
    if (st.abandon.load()) break;
    const uint64_t want = std::min<uint64_t>(kChunk, max_bytes - total);
    // O_DIRECT wants whole blocks: ask for a rounded-up length, count what
    // was asked for.
    const std::size_t ask = static_cast<std::size_t>((want + kAlign - 1) / kAlign * kAlign);
    ssize_t n = pread(fd, buf.get(), ask, static_cast<off_t>(total));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EINVAL && r.cache_bypass == "o_direct" && !retried_without_direct) {
      // Opened with O_DIRECT, but the file system refuses direct reads.
      retried_without_direct = true;
      close(fd);
      fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);  // known to be a regular file now
      if (fd < 0) {
        r.reason = "fuse_open";
        r.detail = ErrnoText("open", path, errno);
        return -1;
      }
      r.cache_bypass = "fadvise";
      drop_cache();
      continue;
    }
    if (n < 0) {
      r.reason = "fuse_read";
      r.detail = ErrnoText("read", path, errno) + " after " + std::to_string(total) + " bytes";
      break;
    }
    if (!got_first) {
      first = std::chrono::steady_clock::now();
      got_first = true;
    }
    if (n == 0) break;  // end of file
    total += std::min<uint64_t>(static_cast<uint64_t>(n), want);
    st.progress = total;
  }
  r.bytes = total;
  const auto end = std::chrono::steady_clock::now();
  if (got_first) {
    r.first_byte_seconds = std::chrono::duration<double>(first - t1).count();
    r.transfer_seconds = std::chrono::duration<double>(end - first).count();
  } else {
    r.first_byte_seconds = std::chrono::duration<double>(end - t1).count();
  }
  if (r.reason.empty() && total == 0) {
    r.reason = "short_read";
    r.detail = path + " is empty";
  }
  return fd;
}

}  // namespace

FuseVerdict JudgeFuseRead(const std::map<std::string, uint64_t>& connection_rx, uint64_t bytes_read,
                          const std::function<bool(std::string_view)>& is_data_device,
                          const std::function<bool(std::string_view)>& is_loopback,
                          const std::map<std::string, uint64_t>* interface_rx) {
  FuseVerdict v;
  uint64_t data = 0, loop = 0;
  std::string top_data, top_loop, top_other, top_any;
  uint64_t top_data_n = 0, top_loop_n = 0, top_other_n = 0, top_any_n = 0;
  for (const auto& [dev, n] : connection_rx) {
    if (n == 0) continue;
    v.network_bytes += n;
    if (n > top_any_n) {
      top_any = dev;
      top_any_n = n;
    }
    if (is_data_device(dev)) {
      data += n;
      if (n > top_data_n) {
        top_data = dev;
        top_data_n = n;
      }
    } else if (is_loopback(dev)) {
      loop += n;
      if (n > top_loop_n) {
        top_loop = dev;
        top_loop_n = n;
      }
    } else if (n > top_other_n) {
      top_other = dev;
      top_other_n = n;
    }
  }
  const auto need =
      static_cast<uint64_t>(std::ceil(static_cast<double>(bytes_read) * kFuseCoverage));
  if (bytes_read == 0 || v.network_bytes < need) {
    // Cached by the daemon, served locally, or read by a process the agent
    // cannot see: no connection carried the read.
    v.reason = "no_network_read";
    v.device = top_any;
    return v;
  }
  if (data >= need) {
    v.device = top_data;
    if (interface_rx != nullptr) {
      // The connections' egress route is the fabric; did the replies arrive
      // there too? (A worker answering over Ethernet is invisible to routes.)
      uint64_t arrived = 0, top_n = 0;
      std::string top;
      for (const auto& [dev, n] : *interface_rx) {
        if (is_data_device(dev)) {
          arrived += n;
        } else if (!is_loopback(dev) && n > top_n) {
          top = dev;
          top_n = n;
        }
      }
      if (arrived < need) {
        v.reason = "rx_not_on_data_device";
        if (!top.empty()) v.device = top;
        return v;
      }
    }
    v.on_data_device = true;
    return v;
  }
  if (loop > 0 && data + loop >= need) {
    v.local_only = true;
    v.device = top_loop;
    return v;
  }
  v.reason = "route_not_data_device";
  v.device = top_other.empty() ? top_any : top_other;
  return v;
}

std::map<std::string, uint64_t> CounterGrowth(const std::map<std::string, uint64_t>& before,
                                              const std::map<std::string, uint64_t>& after) {
  std::map<std::string, uint64_t> out;
  for (const auto& [k, b] : after) {
    auto it = before.find(k);
    const uint64_t a = it == before.end() ? 0 : it->second;
    if (b > a) out[k] = b - a;
  }
  return out;
}

UncachedRead ReadUncached(const std::string& path, uint64_t max_bytes,
                          std::chrono::milliseconds timeout, const std::atomic<bool>* cancel) {
  if (const int stuck = g_stuck_reads.load(); stuck >= kMaxStuckReads) {
    UncachedRead r;
    r.reason = "fuse_stuck";
    r.detail = std::to_string(stuck) + " earlier reads of the FUSE mount are still stuck";
    return r;
  }
  auto st = std::make_shared<ReadState>();
  const auto start = std::chrono::steady_clock::now();
  std::thread([st, path, max_bytes] {
    const int fd = ReadFile(path, max_bytes, *st);
    std::unique_lock<std::mutex> lock(st->mu);
    st->done = true;
    if (st->abandoned) g_stuck_reads.fetch_sub(1);
    st->done_cv.notify_all();
    st->done_cv.wait(lock, [&] { return st->release || st->abandoned; });
    lock.unlock();
    if (fd >= 0) close(fd);
  }).detach();

  const auto deadline = start + timeout;
  std::unique_lock<std::mutex> lock(st->mu);
  for (;;) {
    if (st->done) {
      UncachedRead r = st->result;
      r.hold = std::shared_ptr<void>(nullptr, [st](void*) {
        std::lock_guard<std::mutex> l(st->mu);
        st->release = true;
        st->done_cv.notify_all();
      });
      return r;
    }
    const auto now = std::chrono::steady_clock::now();
    const bool cancelled = cancel != nullptr && cancel->load();
    if (now >= deadline || cancelled) {
      st->abandon = true;
      st->abandoned = true;
      g_stuck_reads.fetch_add(1);
      UncachedRead r;
      r.reason = cancelled ? "cancelled" : "timeout";
      r.detail = "read of " + path + " unfinished after " + std::to_string(timeout.count()) + " ms";
      r.bytes = st->progress.load();
      r.first_byte_seconds = Since(start);
      return r;
    }
    // Wake now and then to notice a cancel.
    st->done_cv.wait_until(lock, std::min(deadline, now + std::chrono::milliseconds(100)));
  }
}

ProbeOutcome RunFuseProbe(const std::string& path, uint64_t bytes, const ProbeSettings& settings,
                          const ConnectionRxSampler& sampler, const std::atomic<bool>* cancel) {
  ProbeOutcome o;
  o.kind = "fuse";
  o.target = path;
  auto fail = [&](std::string reason, std::string detail) {
    o.reason = std::move(reason);
    o.detail = std::move(detail);
    o.unix_time = UnixNow();
    return o;
  };
  if (!sampler) return fail("agent", "no connection collector for the agent's namespace");
  auto nl = RouteNetlink::Open();
  if (!nl.ok()) return fail("agent", nl.status().message());
  auto net = (*nl)->ReadSnapshot();
  if (!net.ok()) return fail("agent", net.status().message());
  auto conn_before = sampler();
  if (!conn_before.ok()) return fail("agent", conn_before.status().message());

  UncachedRead r = ReadUncached(path, bytes, settings.timeout, cancel);

  // The file is still open (r.hold): so are the daemon's connections for it,
  // whose counters the second sample reads (a closed one's final bytes come
  // in a destroy notice that may trail the sample).
  auto conn_after = sampler();
  r.hold.reset();
  auto links_after = (*nl)->ReadLinks();
  o.cache_bypass = r.cache_bypass;
  RecordTransfer(o, r.bytes, r.open_seconds, r.first_byte_seconds, r.transfer_seconds);
  if (links_after.ok()) o.rx_delta = ReceiveDeltas(net->links, *links_after);
  if (!conn_after.ok()) return fail("agent", conn_after.status().message());
  const std::map<std::string, uint64_t> growth = CounterGrowth(*conn_before, *conn_after);

  std::shared_ptr<const AlluxioConf> conf =
      settings.config != nullptr ? settings.config->Current()
                                 : std::make_shared<const AlluxioConf>(DefaultAlluxioConf());
  const ExpectedDevices expected = ResolveExpectedDevices(settings.datapath_devices, *conf, *net);
  auto is_loopback = [&](std::string_view dev) {
    const Link* l = net->ByName(dev);
    return l != nullptr && l->transport == Transport::kLoopback;
  };
  const FuseVerdict v = JudgeFuseRead(
      growth, r.bytes, [&](std::string_view dev) { return expected.Covers(*net, dev); },
      is_loopback, links_after.ok() ? &o.rx_delta : nullptr);
  o.tcp_bytes_received = v.network_bytes;
  if (!v.device.empty()) {
    o.device = v.device;
    const Link* l = net->ByName(v.device);
    o.transport = std::string(TransportName(l != nullptr ? l->transport : Transport::kOther));
  }
  o.on_data_device = v.on_data_device && r.reason.empty();
  if (!r.reason.empty()) {
    o.reason = r.reason;
    o.detail = r.detail;
  } else if (!v.reason.empty()) {
    o.reason = v.reason;
    if (v.reason == "no_network_read") {
      o.detail = "the FUSE daemon's worker connections received " +
                 std::to_string(v.network_bytes) + " bytes for " + std::to_string(r.bytes) +
                 " read (cached, or served locally)";
    } else if (v.reason == "rx_not_on_data_device") {
      o.detail =
          "the FUSE daemon's worker connections route over a data device, but the bytes "
          "arrived on " +
          v.device;
    } else {
      o.detail = "the FUSE daemon's worker connections route over " + v.device +
                 ", not an expected data device";
    }
  }
  o.success = o.reason.empty();
  o.unix_time = UnixNow();
  return o;
}

}  // namespace ibpath
