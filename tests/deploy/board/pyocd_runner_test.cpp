// The pyOCD back end without a board: a stand-in `pyocd` (Python) that lists a
// probe, accepts the flash command, and runs a gdbserver speaking just enough
// of the GDB remote protocol to answer `monitor reset halt` and, on
// `continue`, print what a board's semihosting console would. Checks the
// runner's plumbing: commands, the RSP exchange, stopping at TN_END, parsing.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "core/io.h"
#include "core/mcu.h"
#include "deploy/board/board_runner.h"
#include "deploy/board/process.h"
#include "tests/test_util.h"

namespace tinynas::deploy {
namespace {

namespace fs = std::filesystem;

const char kFakePyocd[] = R"(#!/usr/bin/env python3
import os, socket, sys, time
log = os.environ["FAKE_PYOCD_LOG"]
with open(log, "a") as f:
    f.write(" ".join(sys.argv[1:]) + "\n")
cmd = sys.argv[1]
if cmd == "list":
    print("  #   Probe             Unique ID")
    print("  0   Fake CMSIS-DAP    0123456789")
    sys.exit(0)
if cmd == "flash":
    sys.exit(0)
assert cmd == "gdbserver"
port = int(sys.argv[sys.argv.index("-p") + 1])
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(1)
print("0000 I GDB server started on port %d [gdbserver]" % port, file=sys.stderr, flush=True)
conn, _ = server.accept()
def packet():
    data = b""
    while not data.endswith(b"#") :
        data += conn.recv(1)
    conn.recv(2)
    conn.sendall(b"+")
    return data[data.index(b"$") + 1:-1].decode()
first = packet()
with open(log, "a") as f:
    f.write("rsp " + first + "\n")
conn.sendall(b"$OK#9a")
second = packet()
with open(log, "a") as f:
    f.write("rsp " + second + "\n")
print("TN_BEGIN dwt 0", flush=True)
print("TN_RESULT 0 0 123456 00ff7f80", flush=True)
print("TN_END", flush=True)
while True:  # pyOCD ignores SYS_EXIT: the core spins until the runner stops it
    time.sleep(1)
)";

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(PyocdRunner, FlashesRunsAndStopsAtEnd) {
  const char* path = getenv("PATH");
  if (find_executable("python3", path ? path : "").empty()) GTEST_SKIP() << "python3 not installed";
  std::string dir = (fs::temp_directory_path() / "tinynas_pyocd_XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string fake = dir + "/pyocd";
  write_file_atomic(fake, kFakePyocd);
  fs::permissions(fake, fs::perms::owner_all);
  const std::string elf = dir + "/firmware.elf";
  write_file_atomic(elf, "not really an ELF: the fake never reads it");
  const std::string log = dir + "/log";
  setenv("TINYNAS_PYOCD", fake.c_str(), 1);
  setenv("FAKE_PYOCD_LOG", log.c_str(), 1);

  PyocdOptions options;
  options.gdb_port = free_port();
  options.probe = "0123";
  const BoardResult r = run_pyocd(load_mcu("f412"), elf, 20, options);
  unsetenv("TINYNAS_PYOCD");
  unsetenv("FAKE_PYOCD_LOG");

  EXPECT_TRUE(r.ok()) << r.failure() << "\n" << r.log;
  EXPECT_EQ(r.backend, "pyocd");
  EXPECT_EQ(r.unit, "cycles");
  EXPECT_EQ(r.counter_source, "dwt");
  EXPECT_EQ(r.exit_code, 0);
  ASSERT_EQ(r.runs.size(), 1u);
  EXPECT_EQ(r.runs[0].count, 123456u);
  EXPECT_DOUBLE_EQ(r.runs[0].measured, 123456.0);  // cycles, as counted
  EXPECT_EQ(r.runs[0].output, (std::vector<int8_t>{0, -1, 127, -128}));

  const std::string calls = read_file(log);
  EXPECT_NE(calls.find("list\n"), std::string::npos) << calls;
  EXPECT_NE(calls.find("flash -t stm32f412xg -u 0123 " + elf + "\n"), std::string::npos) << calls;
  EXPECT_NE(calls.find("gdbserver -t stm32f412xg -p " + std::to_string(options.gdb_port) + " --semihosting"),
            std::string::npos)
      << calls;
  // "monitor reset halt", then continue.
  EXPECT_NE(calls.find("rsp qRcmd,72657365742068616c74\nrsp c\n"), std::string::npos) << calls;
  fs::remove_all(dir);
}

TEST(PyocdRunner, NoProbeListed) {
  const char* path = getenv("PATH");
  if (find_executable("sh", path ? path : "").empty()) GTEST_SKIP() << "no /bin/sh";
  std::string dir = (fs::temp_directory_path() / "tinynas_pyocd_XXXXXX").string();
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  const std::string fake = dir + "/pyocd";
  write_file_atomic(fake, "#!/bin/sh\necho 'No available debug probes are connected'\n");
  fs::permissions(fake, fs::perms::owner_all);
  write_file_atomic(dir + "/firmware.elf", "x");
  setenv("TINYNAS_PYOCD", fake.c_str(), 1);
  const std::string e = test_nets::error_of([&] { run_pyocd(load_mcu("f746"), dir + "/firmware.elf", 5); });
  unsetenv("TINYNAS_PYOCD");
  EXPECT_NE(e.find("no debug probe found (pyocd list)"), std::string::npos) << e;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tinynas::deploy
