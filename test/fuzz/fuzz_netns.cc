// The pure netns helpers (collectors/source/netns.h) on any bytes: the
// /proc/<pid>/ns/net link, a cmdline, a cgroup file, an environ.
// Input: name NUL text. Invariants: a namespace inode prints back to a link
// that parses to itself; a process kind is one of the four roles; a
// container id is 12 lower-case hex digits found in the cgroup text; an
// environment value is what follows "name=" in one of the entries.
#include <cstddef>
#include <cstdint>
#include <string>

#include "collectors/source/netns.h"
#include "test/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace ibpath;
  const std::string all(reinterpret_cast<const char*>(data), size);

  if (std::optional<uint64_t> ino = ParseNsLink(all)) {
    FUZZ_CHECK(all.starts_with("net:[") && all.ends_with("]"));
    FUZZ_CHECK(ParseNsLink("net:[" + std::to_string(*ino) + "]") == ino);
  }

  if (std::optional<std::string> kind = AlluxioProcessKind(all)) {
    FUZZ_CHECK(*kind == "worker" || *kind == "fuse" || *kind == "master" || *kind == "client");
  }

  if (std::optional<std::string> id = ContainerIdFromCgroup(all)) {
    FUZZ_CHECK(id->size() == 12);
    for (char c : *id) FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
    FUZZ_CHECK(all.find(*id) != std::string::npos);
  }

  fuzz::Bytes in(data, size);
  const std::string name(in.Field('\0'));
  const std::string environ(in.Rest());
  if (std::optional<std::string> v = EnvironValue(environ, name)) {
    const std::string entry = name + "=" + *v;
    FUZZ_CHECK(environ.starts_with(entry) ||
               environ.find(std::string(1, '\0') + entry) != std::string::npos);
  }
  return 0;
}
