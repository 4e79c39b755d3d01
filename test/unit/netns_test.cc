#include "collectors/source/netns.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace ibpath {
namespace {

namespace fs = std::filesystem;

std::string Argv(std::initializer_list<const char*> args) {
  std::string s;
  for (const char* a : args) {
    s += a;
    s.push_back('\0');
  }
  return s;
}

TEST(ParseNsLink, Table) {
  struct Case {
    const char* in;
    std::optional<uint64_t> want;
  } cases[] = {
      {"net:[4026531840]", 4026531840ULL},
      {"net:[1]", 1ULL},
      {"mnt:[4026531840]", std::nullopt},
      {"net:[]", std::nullopt},
      {"net:[12x]", std::nullopt},
      {"net:[99999999999999999999999]", std::nullopt},  // too long to be an inode
      {"", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(ParseNsLink(c.in), c.want) << c.in;
}

TEST(AlluxioProcessKind, Table) {
  struct Case {
    std::string cmdline;
    std::optional<std::string> want;
  } cases[] = {
      {Argv({"/usr/lib/jvm/java-11/bin/java", "-Xmx8g", "-Dalluxio.home=/opt/alluxio",
             "alluxio.worker.AlluxioWorker"}),
       "worker"},
      {Argv({"java", "-cp", "x.jar", "alluxio.fuse.AlluxioFuse", "/mnt/alluxio"}), "fuse"},
      {Argv({"/opt/alluxio/integration/fuse/bin/alluxio-fuse", "mount"}), "fuse"},
      {Argv({"java", "alluxio.master.AlluxioMaster"}), "master"},
      {Argv({"java", "alluxio.cli.fs.FileSystemShell", "cat", "/x"}), "client"},
      // A flag mentioning alluxio is not an Alluxio main class.
      {Argv({"java", "-Dalluxio.home=/opt/alluxio", "org.example.Main"}), std::nullopt},
      {Argv({"python3", "server.py", "alluxio.worker"}), std::nullopt},
      {Argv({"bash"}), std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(AlluxioProcessKind(c.cmdline), c.want);
}

TEST(ContainerIdFromCgroup, Table) {
  const std::string id = "3f4e1c2b9a8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f";
  struct Case {
    std::string cgroup;
    std::optional<std::string> want;
  } cases[] = {
      {"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/"
       "cri-containerd-" +
           id + ".scope\n",
       "3f4e1c2b9a8d"},
      {"12:memory:/kubepods/burstable/pod5678/" + id + "\n11:cpu:/kubepods/burstable/pod5678/" + id,
       "3f4e1c2b9a8d"},
      {"0::/system.slice/docker-" + id + ".scope\n", "3f4e1c2b9a8d"},
      {"0::/user.slice/user-0.slice/session-1.scope\n", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(ContainerIdFromCgroup(c.cgroup), c.want) << c.cgroup;
}

TEST(EnvironValue, FindsExactName) {
  std::string env = Argv({"ALLUXIO_HOME_X=/wrong", "ALLUXIO_HOME=/opt/alluxio", "EMPTY="});
  EXPECT_EQ(EnvironValue(env, "ALLUXIO_HOME"), "/opt/alluxio");
  EXPECT_EQ(EnvironValue(env, "EMPTY"), "");
  EXPECT_EQ(EnvironValue(env, "MISSING"), std::nullopt);
}

// A procfs tree with a host worker, a pod's FUSE process in its own
// namespace, and an unrelated process.
class DiscoverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root = fs::temp_directory_path() / ("ibpath-netns-" + std::to_string(getpid()));
    fs::remove_all(root);
    proc = root / "proc";
    Process(100, Argv({"java", "alluxio.worker.AlluxioWorker"}), 4026531840, "", "0::/\n");
    Process(200, Argv({"java", "alluxio.fuse.AlluxioFuse"}), 4026532999,
            Argv({"ALLUXIO_CONF_DIR=/etc/alluxio", "KUBERNETES_SERVICE_HOST=10.0.0.1",
                  "HOSTNAME=alluxio-fuse-x7k2p"}),
            "0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-"
            "aaaabbbbccccddddeeeeffff0000111122223333444455556666777788889999.scope\n");
    Write(proc / "200" / "root" / "etc" / "alluxio" / "alluxio-site.properties",
          "alluxio.user.network.data.bind.device=net1\n");
    Write(proc / "200" / "root" / "var" / "run" / "secrets" / "kubernetes.io" / "serviceaccount" /
              "namespace",
          "alluxio\n");
    Process(300, Argv({"sshd"}), 4026533000, "", "");
    // A process that exited between listing and reading: no ns link.
    fs::create_directories(proc / "400");
    Write(proc / "400" / "cmdline", Argv({"java", "alluxio.worker.AlluxioWorker"}));
  }
  void TearDown() override { fs::remove_all(root); }

  void Write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  void Process(int pid, const std::string& cmdline, uint64_t inode, const std::string& environ,
               const std::string& cgroup) {
    const fs::path d = proc / std::to_string(pid);
    Write(d / "cmdline", cmdline);
    Write(d / "environ", environ);
    Write(d / "cgroup", cgroup);
    fs::create_directories(d / "ns");
    fs::create_symlink("net:[" + std::to_string(inode) + "]", d / "ns" / "net");
    fs::create_directories(d / "root");
  }

  fs::path root, proc;
};

TEST_F(DiscoverTest, FindsAlluxioNamespacesWithPodMetadata) {
  NetnsDiscovery got = DiscoverNetns(proc.string(), (root / "no-run-netns").string(), 4026531840);
  ASSERT_EQ(got.namespaces.size(), 2u);
  const DiscoveredNetns& host = got.namespaces[0];
  EXPECT_EQ(host.id, "host");
  EXPECT_EQ(host.path, "");
  ASSERT_EQ(host.processes.size(), 1u);
  EXPECT_EQ(host.processes[0].pid, 100);
  EXPECT_EQ(host.processes[0].kind, "worker");
  EXPECT_FALSE(host.pod.has_value());  // not in a pod: no pod label from the node's hostname

  const DiscoveredNetns& pod = got.namespaces[1];
  EXPECT_EQ(pod.id, "inode:4026532999");
  EXPECT_EQ(pod.path, (proc / "200" / "ns" / "net").string());
  EXPECT_EQ(pod.processes.at(0).kind, "fuse");
  EXPECT_EQ(pod.pod, "alluxio-fuse-x7k2p");
  EXPECT_EQ(pod.k8s_namespace, "alluxio");
  EXPECT_EQ(pod.container, "aaaabbbbcccc");
  EXPECT_EQ(pod.conf_path,
            (proc / "200" / "root" / "etc" / "alluxio" / "alluxio-site.properties").string());
  EXPECT_EQ(got.unreadable_processes, 1u);  // pid 400
}

TEST_F(DiscoverTest, OwnNamespaceListedEvenWithoutProcfs) {
  NetnsDiscovery got = DiscoverNetns((root / "missing").string(), "", 7);
  ASSERT_EQ(got.namespaces.size(), 1u);
  EXPECT_EQ(got.namespaces[0].id, "host");
  EXPECT_EQ(got.namespaces[0].inode, 7u);
}

TEST(NetnsHandle, OwnNamespaceRunsDirectly) {
  auto h = NetnsHandle::Open("");
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE((*h)->is_own());
  int calls = 0;
  EXPECT_TRUE((*h)->Run([&] {
                    ++calls;
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(calls, 1);
}

TEST(NetnsHandle, MissingPathIsAnErrorWithThePath) {
  auto h = NetnsHandle::Open("/nonexistent/ns/net");
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("/nonexistent/ns/net"), std::string::npos);
}

// Entering another namespace for real needs root (CI is root); the kernel
// must then report that namespace's inode on the entering thread only.
TEST(NetnsHandle, EntersAnotherNamespaceOnItsOwnThread) {
  if (geteuid() != 0) GTEST_FAIL() << "needs root (CI runs as root)";
  const std::string name = "ibpath-ut-" + std::to_string(getpid());
  ASSERT_EQ(std::system(("ip netns add " + name).c_str()), 0);
  struct Cleanup {
    std::string n;
    ~Cleanup() { (void)!std::system(("ip netns del " + n).c_str()); }
  } cleanup{name};
  struct stat st {};
  ASSERT_EQ(stat(("/run/netns/" + name).c_str(), &st), 0);
  auto own = CurrentNetnsInode("/proc");
  ASSERT_TRUE(own.ok()) << own.status().message();

  auto h = NetnsHandle::Open("/run/netns/" + name);
  ASSERT_TRUE(h.ok()) << h.status().message();
  uint64_t inside = 0;
  Status s = (*h)->Run([&] {
    auto i = CurrentNetnsInode("/proc");
    if (!i.ok()) return i.status();
    inside = *i;
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(inside, st.st_ino);
  EXPECT_NE(inside, *own);
  EXPECT_EQ(*CurrentNetnsInode("/proc"), *own);  // the caller stayed home

  // Named, but without an Alluxio process: not sampled.
  auto listed = [&] {
    for (const auto& ns : DiscoverNetns("/proc", "/run/netns", *own).namespaces) {
      if (ns.inode == st.st_ino) return ns.id == name && !ns.processes.empty();
    }
    return false;
  };
  EXPECT_FALSE(listed());
  // An Alluxio worker starts in it: listed under its name.
  FILE* p = popen(("ip netns exec " + name +
                   " python3 -c 'import time; time.sleep(60)' alluxio.worker.AlluxioWorker "
                   ">/dev/null 2>&1 & echo $!")
                      .c_str(),
                  "r");
  ASSERT_NE(p, nullptr);
  int pid = 0;
  ASSERT_EQ(fscanf(p, "%d", &pid), 1);
  pclose(p);
  struct Kill {
    int pid;
    ~Kill() { kill(pid, SIGKILL); }
  } killer{pid};
  bool found = false;
  for (int i = 0; i < 100 && !found; ++i) {  // until the child has exec'd python
    found = listed();
    if (!found) usleep(50 * 1000);
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace ibpath
