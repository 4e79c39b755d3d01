// A small FUSE file system for the lab, standing in for alluxio-fuse: it
// presents files whose reads are forwarded over TCP to the stand-in worker
// (standin.py worker: each line "<n>\n" gets n bytes back).
//
//   fuse_forwarder --worker=ADDR:PORT [--src=ADDR] [--file=NAME:SIZE]...
//                  [--direct-io] [FUSE options] MOUNTPOINT
//
// Every open connects to the worker from --src (as alluxio-fuse binds with
// alluxio.user.network.data.bind.device) and keeps that one connection for
// the file handle's reads, so the agent's connection collector sees a
// client-side connection to the worker's data port. --direct-io makes the
// kernel bypass the page cache for every open (FOPEN_DIRECT_IO).
#define FUSE_USE_VERSION 31

#include <arpa/inet.h>
#include <errno.h>
#include <fuse.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FILES 16

struct file_spec {
  char name[64];
  off_t size;
};

static struct {
  struct sockaddr_in worker;
  struct sockaddr_in src;
  int has_src;
  int direct_io;
  struct file_spec files[MAX_FILES];
  int nfiles;
} g;

struct handle {
  int fd;
  pthread_mutex_t mu;  // one request on the connection at a time
};

static const struct file_spec* find_file(const char* path) {
  if (path[0] != '/') return NULL;
  for (int i = 0; i < g.nfiles; i++) {
    if (strcmp(path + 1, g.files[i].name) == 0) return &g.files[i];
  }
  return NULL;
}

static int fw_getattr(const char* path, struct stat* st, struct fuse_file_info* fi) {
  (void)fi;
  memset(st, 0, sizeof(*st));
  if (strcmp(path, "/") == 0) {
    st->st_mode = S_IFDIR | 0755;
    st->st_nlink = 2;
    return 0;
  }
  const struct file_spec* f = find_file(path);
  if (f == NULL) return -ENOENT;
  st->st_mode = S_IFREG | 0444;
  st->st_nlink = 1;
  st->st_size = f->size;
  return 0;
}

static int fw_readdir(const char* path, void* buf, fuse_fill_dir_t fill, off_t off,
                      struct fuse_file_info* fi, enum fuse_readdir_flags flags) {
  (void)off;
  (void)fi;
  (void)flags;
  if (strcmp(path, "/") != 0) return -ENOENT;
  fill(buf, ".", NULL, 0, 0);
  fill(buf, "..", NULL, 0, 0);
  for (int i = 0; i < g.nfiles; i++) fill(buf, g.files[i].name, NULL, 0, 0);
  return 0;
}

static int fw_open(const char* path, struct fuse_file_info* fi) {
  if (find_file(path) == NULL) return -ENOENT;
  if ((fi->flags & O_ACCMODE) != O_RDONLY) return -EACCES;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (g.has_src && bind(fd, (struct sockaddr*)&g.src, sizeof(g.src)) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  if (connect(fd, (struct sockaddr*)&g.worker, sizeof(g.worker)) != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  struct handle* h = calloc(1, sizeof(*h));
  if (h == NULL) {
    close(fd);
    return -ENOMEM;
  }
  h->fd = fd;
  pthread_mutex_init(&h->mu, NULL);
  fi->fh = (uint64_t)(uintptr_t)h;
  fi->direct_io = g.direct_io;
  fi->keep_cache = 0;
  return 0;
}

static int fw_read(const char* path, char* buf, size_t size, off_t off, struct fuse_file_info* fi) {
  const struct file_spec* f = find_file(path);
  if (f == NULL) return -ENOENT;
  if (off >= f->size) return 0;
  if ((off_t)size > f->size - off) size = (size_t)(f->size - off);
  struct handle* h = (struct handle*)(uintptr_t)fi->fh;
  char req[32];
  int len = snprintf(req, sizeof(req), "%zu\n", size);
  pthread_mutex_lock(&h->mu);
  int ret = 0;
  for (int sent = 0; sent < len;) {
    ssize_t n = send(h->fd, req + sent, (size_t)(len - sent), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      ret = -EIO;
      goto out;
    }
    sent += (int)n;
  }
  size_t got = 0;
  while (got < size) {
    ssize_t n = recv(h->fd, buf + got, size - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ret = -EIO;  // the worker went away mid-read
      goto out;
    }
    got += (size_t)n;
  }
  ret = (int)got;
out:
  pthread_mutex_unlock(&h->mu);
  return ret;
}

static int fw_release(const char* path, struct fuse_file_info* fi) {
  (void)path;
  struct handle* h = (struct handle*)(uintptr_t)fi->fh;
  if (h != NULL) {
    close(h->fd);
    pthread_mutex_destroy(&h->mu);
    free(h);
  }
  return 0;
}

static const struct fuse_operations kOps = {
    .getattr = fw_getattr,
    .open = fw_open,
    .read = fw_read,
    .release = fw_release,
    .readdir = fw_readdir,
};

static int parse_addr(const char* s, struct sockaddr_in* out, int want_port) {
  char host[64];
  const char* colon = strrchr(s, ':');
  size_t n = want_port ? (colon ? (size_t)(colon - s) : 0) : strlen(s);
  if (n == 0 || n >= sizeof(host)) return -1;
  memcpy(host, s, n);
  host[n] = '\0';
  memset(out, 0, sizeof(*out));
  out->sin_family = AF_INET;
  if (inet_pton(AF_INET, host, &out->sin_addr) != 1) return -1;
  if (want_port) {
    long port = strtol(colon + 1, NULL, 10);
    if (port <= 0 || port > 65535) return -1;
    out->sin_port = htons((uint16_t)port);
  }
  return 0;
}

int main(int argc, char** argv) {
  char** fuse_argv = calloc((size_t)argc + 1, sizeof(char*));
  int fuse_argc = 0;
  int have_worker = 0;
  if (fuse_argv == NULL) return 1;
  fuse_argv[fuse_argc++] = argv[0];
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    if (strncmp(a, "--worker=", 9) == 0) {
      if (parse_addr(a + 9, &g.worker, 1) != 0) {
        fprintf(stderr, "bad --worker=%s (want IPv4:port)\n", a + 9);
        return 2;
      }
      have_worker = 1;
    } else if (strncmp(a, "--src=", 6) == 0) {
      if (parse_addr(a + 6, &g.src, 0) != 0) {
        fprintf(stderr, "bad --src=%s (want IPv4)\n", a + 6);
        return 2;
      }
      g.has_src = 1;
    } else if (strncmp(a, "--file=", 7) == 0) {
      const char* spec = a + 7;
      const char* colon = strrchr(spec, ':');
      size_t n = colon ? (size_t)(colon - spec) : 0;
      if (g.nfiles == MAX_FILES || n == 0 || n >= sizeof(g.files[0].name) ||
          memchr(spec, '/', n) != NULL) {
        fprintf(stderr, "bad --file=%s (want NAME:SIZE)\n", spec);
        return 2;
      }
      memcpy(g.files[g.nfiles].name, spec, n);
      g.files[g.nfiles].size = (off_t)strtoll(colon + 1, NULL, 10);
      g.nfiles++;
    } else if (strcmp(a, "--direct-io") == 0) {
      g.direct_io = 1;
    } else {
      fuse_argv[fuse_argc++] = argv[i];
    }
  }
  if (!have_worker) {
    fprintf(stderr,
            "usage: %s --worker=ADDR:PORT [--src=ADDR] [--file=NAME:SIZE]... "
            "[--direct-io] [FUSE options] MOUNTPOINT\n",
            argv[0]);
    return 2;
  }
  int rc = fuse_main(fuse_argc, fuse_argv, &kOps, NULL);
  free(fuse_argv);
  return rc;
}
