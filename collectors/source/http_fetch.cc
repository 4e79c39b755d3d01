// libcurl and kernel UAPI only: <linux/tcp.h> for tcp_info's byte counters
// (glibc's <netinet/tcp.h> predates them and clashes with it).
#include "collectors/source/http_fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <linux/tcp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <mutex>
#include <vector>

namespace ibpath {
namespace {

void GlobalInitOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool ToAddress(const sockaddr_storage& ss, IpAddress* addr, uint16_t* port) {
  if (ss.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    *addr = IpAddress::V4(&in->sin_addr);
    *port = ntohs(in->sin_port);
    return true;
  }
  if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    *addr = IpAddress::V6(&in6->sin6_addr);
    *port = ntohs(in6->sin6_port);
    return true;
  }
  return false;
}

bool Ends(int fd, IpAddress* local, uint16_t* local_port, IpAddress* peer, uint16_t* peer_port) {
  sockaddr_storage l{}, p{};
  socklen_t ll = sizeof(l), pl = sizeof(p);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&l), &ll) != 0) return false;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&p), &pl) != 0) return false;
  return ToAddress(l, local, local_port) && ToAddress(p, peer, peer_port);
}

BodySocket ReadSocket(int fd) {
  BodySocket s;
  if (!Ends(fd, &s.local, &s.local_port, &s.peer, &s.peer_port)) return s;
  s.known = true;
  tcp_info info{};
  socklen_t len = sizeof(info);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0) {
    // Kernels before 4.1 return a shorter struct without these fields.
    if (len >= offsetof(tcp_info, tcpi_bytes_received) + sizeof(info.tcpi_bytes_received)) {
      s.tcp_bytes_received = info.tcpi_bytes_received;
      s.tcp_bytes_acked = info.tcpi_bytes_acked;
    }
  }
  uint32_t mark = 0;
  len = sizeof(mark);
  if (getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &len) == 0) s.mark = mark;
  char dev[IFNAMSIZ + 1] = {};
  len = IFNAMSIZ;
  if (getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &len) == 0 && dev[0] != '\0') {
    s.bound_ifindex = if_nametoindex(dev);
  }
  return s;
}

// State shared with libcurl's callbacks during one Fetch.
struct Transfer {
  const FetchRequest* request = nullptr;
  CURL* curl = nullptr;
  uint64_t body_bytes = 0;
  bool stopped_at_limit = false;
  std::vector<int> open_fds;  // sockets libcurl created and has not closed
  int body_fd = -1;
  bool body_read = false;  // `socket` holds the body socket's final counters
  BodySocket socket;

  // The first body byte has arrived: find which of our sockets it came on by
  // the connection libcurl reports as current (after a redirect that is the
  // final request's connection, new or reused).
  void IdentifyBodySocket() {
    long local_port = 0, primary_port = 0;
    curl_easy_getinfo(curl, CURLINFO_LOCAL_PORT, &local_port);
    curl_easy_getinfo(curl, CURLINFO_PRIMARY_PORT, &primary_port);
    for (int fd : open_fds) {
      IpAddress l, p;
      uint16_t lp = 0, pp = 0;
      if (Ends(fd, &l, &lp, &p, &pp) && lp == local_port && pp == primary_port) {
        body_fd = fd;
        return;
      }
    }
    // Not expected; the newest socket is the best remaining guess.
    if (!open_fds.empty()) body_fd = open_fds.back();
  }
};

int OnSockopt(void* clientp, curl_socket_t fd, curlsocktype) {
  static_cast<Transfer*>(clientp)->open_fds.push_back(fd);
  return CURL_SOCKOPT_OK;
}

int OnCloseSocket(void* clientp, curl_socket_t fd) {
  auto* t = static_cast<Transfer*>(clientp);
  if (fd == t->body_fd && !t->body_read) {
    t->socket = ReadSocket(fd);  // last chance: the counters die with the socket
    t->body_read = true;
  }
  t->open_fds.erase(std::remove(t->open_fds.begin(), t->open_fds.end(), fd), t->open_fds.end());
  return close(fd);
}

size_t OnBody(char*, size_t size, size_t nmemb, void* userdata) {
  auto* t = static_cast<Transfer*>(userdata);
  const size_t n = size * nmemb;
  if (t->body_fd < 0) t->IdentifyBodySocket();
  const uint64_t room = t->request->max_bytes - t->body_bytes;
  const size_t take = static_cast<size_t>(std::min<uint64_t>(n, room));
  t->body_bytes += take;
  if (take < n) t->stopped_at_limit = true;  // returning less than n ends the transfer
  return take;
}

int OnProgress(void* clientp, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* t = static_cast<Transfer*>(clientp);
  return t->request->cancel != nullptr && t->request->cancel->load() ? 1 : 0;
}

double Seconds(CURL* curl, CURLINFO info) {
  curl_off_t us = 0;
  if (curl_easy_getinfo(curl, info, &us) != CURLE_OK) return 0;
  return static_cast<double>(us) / 1e6;
}

}  // namespace

std::string_view ClassifyFetch(int curl_code, long http_status, uint64_t body_bytes,
                               std::optional<uint64_t> content_length, bool stopped_at_limit,
                               bool cancelled) {
  if (cancelled) return "cancelled";
  switch (static_cast<CURLcode>(curl_code)) {
    case CURLE_OK: break;
    case CURLE_WRITE_ERROR:
      if (!stopped_at_limit) return "error";
      break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return "dns";
    case CURLE_COULDNT_CONNECT: return "connect";
    case CURLE_OPERATION_TIMEDOUT: return "timeout";
    case CURLE_INTERFACE_FAILED: return "bind";
    case CURLE_TOO_MANY_REDIRECTS: return "redirect";
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL: return "bad_url";
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED: return "tls";
    case CURLE_PARTIAL_FILE: return "short_read";
    case CURLE_GOT_NOTHING: return "empty_reply";
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR: return "network";
    case CURLE_ABORTED_BY_CALLBACK: return "cancelled";
    default: return "error";
  }
  if (http_status < 200 || http_status > 299) return "http_status";
  if (!stopped_at_limit && content_length && body_bytes < *content_length) return "short_read";
  return "";
}

FetchResult Fetch(const FetchRequest& request) {
  GlobalInitOnce();
  FetchResult r;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    r.reason = "error";
    r.error = "curl_easy_init failed";
    return r;
  }
  Transfer t;
  t.request = &request;
  t.curl = curl;
  char errbuf[CURL_ERROR_SIZE] = {};
  const long timeout_ms = static_cast<long>(std::max<int64_t>(1, request.timeout.count()));
  const std::string range = "0-" + std::to_string(request.max_bytes - 1);
  std::string interface;
  if (!request.pin_device.empty()) {
    interface = "if!" + request.pin_device;  // SO_BINDTODEVICE
  } else if (!request.bind_address.empty()) {
    interface = "host!" + request.bind_address;  // bind() to the address only
  }
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, request.max_redirects);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "ibpath-agent-probe");
  // Large reads mean fewer callbacks: the probe should measure the path.
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);
  if (request.range_header && request.max_bytes > 0) {
    curl_easy_setopt(curl, CURLOPT_RANGE, range.c_str());
  }
  if (!interface.empty()) curl_easy_setopt(curl, CURLOPT_INTERFACE, interface.c_str());
  curl_easy_setopt(curl, CURLOPT_SOCKOPTFUNCTION, &OnSockopt);
  curl_easy_setopt(curl, CURLOPT_SOCKOPTDATA, &t);
  curl_easy_setopt(curl, CURLOPT_CLOSESOCKETFUNCTION, &OnCloseSocket);
  curl_easy_setopt(curl, CURLOPT_CLOSESOCKETDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, &OnProgress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);

  const CURLcode code = curl_easy_perform(curl);
  r.curl_code = code;
  r.body_bytes = t.body_bytes;
  r.stopped_at_limit = t.stopped_at_limit;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.http_status);
  curl_easy_getinfo(curl, CURLINFO_REDIRECT_COUNT, &r.redirects);
  curl_off_t cl = -1;
  if (curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK && cl >= 0) {
    r.content_length = static_cast<uint64_t>(cl);
  }
  // Times of the final request are measured from its own start; earlier
  // redirected requests add up in REDIRECT_TIME.
  const double redirect = Seconds(curl, CURLINFO_REDIRECT_TIME_T);
  const double connected =
      std::max(Seconds(curl, CURLINFO_CONNECT_TIME_T), Seconds(curl, CURLINFO_APPCONNECT_TIME_T));
  const double first = Seconds(curl, CURLINFO_STARTTRANSFER_TIME_T);
  r.total_seconds = Seconds(curl, CURLINFO_TOTAL_TIME_T);
  r.connect_seconds = redirect + connected;
  if (first > 0) {
    r.first_byte_seconds = std::max(0.0, first - connected);
    r.transfer_seconds = std::max(0.0, r.total_seconds - redirect - first);
  }
  // libcurl may keep the body's connection open for reuse: read it now.
  if (!t.body_read) {
    curl_socket_t active = CURL_SOCKET_BAD;
    curl_easy_getinfo(curl, CURLINFO_ACTIVESOCKET, &active);
    int fd = t.body_fd >= 0 ? t.body_fd : (active != CURL_SOCKET_BAD ? active : -1);
    if (fd >= 0 && std::find(t.open_fds.begin(), t.open_fds.end(), fd) != t.open_fds.end()) {
      t.socket = ReadSocket(fd);
      t.body_read = true;
    }
  }
  r.socket = t.socket;
  const bool cancelled = request.cancel != nullptr && request.cancel->load();
  r.reason = std::string(ClassifyFetch(code, r.http_status, r.body_bytes, r.content_length,
                                       r.stopped_at_limit, cancelled));
  if (!r.reason.empty()) {
    if (r.reason == "http_status") {
      r.error = "HTTP status " + std::to_string(r.http_status);
    } else if (r.reason == "short_read" && code == CURLE_OK) {
      r.error = "body ended after " + std::to_string(r.body_bytes) + " of " +
                std::to_string(r.content_length.value_or(0)) + " bytes";
    } else {
      r.error = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(code);
    }
  }
  curl_easy_cleanup(curl);
  return r;
}

}  // namespace ibpath
