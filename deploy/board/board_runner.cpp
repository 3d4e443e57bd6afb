#include "deploy/board/board_runner.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <thread>

#include "core/error.h"
#include "deploy/board/process.h"

namespace tinynas::deploy {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> words;
  std::istringstream in(line);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

template <typename T>
bool parse_number(const std::string& text, T* value) {
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, *value);
  return ec == std::errc() && ptr == end;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_hex_bytes(const std::string& text, std::vector<int8_t>* bytes) {
  if (text.size() % 2 != 0) return false;
  bytes->clear();
  bytes->reserve(text.size() / 2);
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = hex_digit(text[i]), lo = hex_digit(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes->push_back(static_cast<int8_t>(static_cast<uint8_t>(hi << 4 | lo)));
  }
  return true;
}

std::string shorten(const std::string& line) {
  return line.size() <= 120 ? line : line.substr(0, 117) + "...";
}

void fill_measured(BoardResult& r, bool ticks_are_instructions) {
  const double scale =
      ticks_are_instructions && r.counter_source == "systick" ? r.instructions_per_tick : 1.0;
  for (BoardResult::Run& run : r.runs) run.measured = static_cast<double>(run.count) * scale;
  r.op_measured.clear();
  for (uint64_t c : r.op_counts) r.op_measured.push_back(static_cast<double>(c) * scale);
}

bool any_failed_status(const BoardResult& r) {
  return std::any_of(r.runs.begin(), r.runs.end(), [](const BoardResult::Run& run) { return run.status != 0; });
}

}  // namespace

bool BoardResult::ok() const {
  return began && ended && !timed_out && errors.empty() && faults.empty() && exit_code == 0 &&
         !any_failed_status(*this);
}

std::string BoardResult::failure() const {
  std::string out;
  auto add = [&](const std::string& line) { out += (out.empty() ? "" : "\n") + line; };
  if (timed_out) add("timed out (killed)");
  for (const std::string& e : errors) add(e);
  for (const std::string& f : faults) add(f);
  for (const Run& run : runs)
    if (run.status != 0) add("input " + std::to_string(run.index) + ": status " + std::to_string(run.status));
  if (exit_code != 0 && !timed_out) add("exit code " + std::to_string(exit_code));
  return out;
}

BoardResult parse_board_output(const std::string& text) {
  BoardResult r;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // Only lines that start with the prefix: the firmware starts each of its
    // lines fresh (the fault handler prints a newline first).
    if (line.rfind("TN_", 0) != 0) continue;
    const std::vector<std::string> w = split_words(line);
    auto bad = [&](const std::string& why) {
      r.errors.push_back("line " + std::to_string(line_no) + ": " + why + ": '" + shorten(line) + "'");
    };
    const std::string& key = w[0];
    if (key == "TN_BEGIN") {
      double ipt = 0;
      if (r.began) {
        bad("a second TN_BEGIN");
      } else if (w.size() != 3 || (w[1] != "dwt" && w[1] != "systick") || !parse_number(w[2], &ipt) ||
                 !(ipt >= 0)) {
        bad("expected 'TN_BEGIN <dwt|systick> <instructions per tick>'");
      } else {
        r.began = true;
        r.counter_source = w[1];
        r.instructions_per_tick = ipt;
      }
    } else if (key == "TN_RESULT") {
      BoardResult::Run run;
      // An empty output (a model with no output bytes) leaves out the last field.
      if (w.size() != 4 && w.size() != 5) {
        bad("expected 'TN_RESULT <index> <status> <count> <hex>'");
      } else if (!parse_number(w[1], &run.index) || !parse_number(w[2], &run.status) ||
                 !parse_number(w[3], &run.count) || !parse_hex_bytes(w.size() == 5 ? w[4] : "", &run.output)) {
        bad("malformed TN_RESULT");
      } else if (!r.began) {
        bad("TN_RESULT before TN_BEGIN");
      } else if (r.ended) {
        bad("TN_RESULT after TN_END");
      } else if (run.index != static_cast<int>(r.runs.size())) {
        bad("expected input " + std::to_string(r.runs.size()));
      } else {
        r.runs.push_back(std::move(run));
      }
    } else if (key == "TN_OP") {
      int op = 0;
      uint64_t count = 0;
      if (w.size() != 3 || !parse_number(w[1], &op) || !parse_number(w[2], &count)) {
        bad("expected 'TN_OP <op> <count>'");
      } else if (op != static_cast<int>(r.op_counts.size())) {
        bad("expected op " + std::to_string(r.op_counts.size()));
      } else {
        r.op_counts.push_back(count);
      }
    } else if (key == "TN_END") {
      if (w.size() != 1) bad("expected 'TN_END'");
      else if (!r.began) bad("TN_END before TN_BEGIN");
      else if (r.ended) bad("a second TN_END");
      else r.ended = true;
    } else if (key == "TN_EXIT") {
      int code = 0;
      if (w.size() != 2 || !parse_number(w[1], &code)) bad("expected 'TN_EXIT <code>'");
      else r.firmware_exit = code;
    } else if (key == "TN_FAULT") {
      r.faults.push_back(line);
    } else {
      bad("unknown protocol line");
    }
  }
  if (!r.began)
    r.errors.push_back("no TN_BEGIN: the firmware never started its harness");
  else if (!r.ended)
    r.errors.push_back("no TN_END after " + std::to_string(r.runs.size()) +
                       " result(s): the firmware crashed or was stopped");
  return r;
}

BoardResult run_qemu(const McuTarget& mcu, const std::string& elf, int timeout_s, const std::string& work_dir) {
  if (mcu.qemu_machine.empty())
    throw Error(mcu.name + ": no QEMU machine emulates its core (" + mcu.core +
                "): run it on the board (pyOCD) instead");
  const std::string qemu = resolve_tool("TINYNAS_QEMU", "qemu-system-arm");
  if (qemu.empty()) throw Error("qemu-system-arm not found: install qemu-system-arm");
  if (!std::filesystem::is_regular_file(elf)) throw Error(elf + ": no such firmware image");

  std::vector<std::string> argv = {qemu, "-M", mcu.qemu_machine};
  if (!mcu.qemu_cpu.empty()) argv.insert(argv.end(), {"-cpu", mcu.qemu_cpu});
  // -nographic alone sends semihosting to stderr, mixed with QEMU's own
  // messages; the chardev puts it on stdout. shift=0: one instruction per ns
  // of virtual time, which is what makes SysTick an instruction counter.
  argv.insert(argv.end(), {"-nographic", "-monitor", "none", "-serial", "none", "-chardev", "stdio,id=c0",
                           "-semihosting-config", "enable=on,target=native,chardev=c0", "-icount", "shift=0",
                           "-kernel", elf});
  ProcessOptions options;
  options.timeout_s = timeout_s;
  options.cwd = work_dir;
  const ProcessResult p = run_process(argv, options);

  BoardResult r = parse_board_output(p.out);
  r.backend = "qemu";
  r.unit = "instructions";
  r.log = p.out;
  if (!p.err.empty()) r.log += (r.log.empty() || r.log.back() == '\n' ? "" : "\n") + p.err;
  r.timed_out = p.timed_out;
  r.exit_code = p.timed_out ? -1 : p.exit_code;
  // Without SYS_EXIT_EXTENDED QEMU can only say 0 or 1; the printed code is better.
  if (r.firmware_exit >= 0 && r.exit_code == 1) r.exit_code = r.firmware_exit;
  if (p.timed_out)
    r.errors.push_back("QEMU did not finish within " + std::to_string(timeout_s) + " s and was killed");
  if (r.began && r.counter_source == "systick" && !(r.instructions_per_tick > 0))
    r.errors.push_back("the firmware reported no SysTick calibration (0 instructions per tick)");
  fill_measured(r, /*ticks_are_instructions=*/true);
  return r;
}

std::string rsp_packet(const std::string& data) {
  unsigned sum = 0;
  for (unsigned char c : data) sum += c;
  char tail[4];
  std::snprintf(tail, sizeof tail, "#%02x", sum & 0xFFu);
  return "$" + data + tail;
}

namespace {

// pip's pyOCD has one `pyocd` command with subcommands; Debian's 0.13 has
// separate pyocd-flashtool and pyocd-gdbserver commands.
struct PyocdTools {
  bool modern = false;
  std::string pyocd, flashtool, gdbserver;
};

PyocdTools find_pyocd() {
  PyocdTools t;
  t.pyocd = resolve_tool("TINYNAS_PYOCD", "pyocd");
  if (!t.pyocd.empty()) {
    t.modern = true;
    return t;
  }
  t.flashtool = resolve_tool("", "pyocd-flashtool");
  t.gdbserver = resolve_tool("", "pyocd-gdbserver");
  if (t.flashtool.empty() || t.gdbserver.empty())
    throw Error("pyocd not found: install python3-pyocd (Debian) or `pip install pyocd`, "
                "or set TINYNAS_PYOCD to the pyocd command");
  return t;
}

class Socket {
 public:
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connect_local(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return true;
    ::close(fd_);
    fd_ = -1;
    return false;
  }
  void send_all(const std::string& data) {
    for (size_t sent = 0; sent < data.size();) {
      const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) throw Error("pyOCD gdbserver: connection lost");
      sent += static_cast<size_t>(n);
    }
  }
  // The next packet's payload, acknowledging it; skips console ('O') packets.
  std::string read_packet(double timeout_s) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(static_cast<int>(timeout_s * 1000));
    std::string payload;
    enum { kWait, kData, kSum1, kSum2 } state = kWait;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      pollfd p{fd_, POLLIN, 0};
      if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0)
        throw Error("pyOCD gdbserver: no reply within " + std::to_string(timeout_s) + " s");
      char c;
      if (::recv(fd_, &c, 1, 0) != 1) throw Error("pyOCD gdbserver: connection closed");
      switch (state) {
        case kWait:
          if (c == '$') state = kData, payload.clear();
          break;
        case kData:
          if (c == '#') state = kSum1;
          else payload += c;
          break;
        case kSum1: state = kSum2; break;
        case kSum2:
          send_all("+");
          if (payload.size() > 1 && payload[0] == 'O' && payload != "OK") {
            state = kWait;
            break;
          }
          return payload;
      }
    }
  }

 private:
  int fd_ = -1;
};

std::string to_hex(const std::string& text) {
  std::string out;
  char buf[3];
  for (unsigned char c : text) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    out += buf;
  }
  return out;
}

std::string tail(const std::string& text, size_t max_chars) {
  return text.size() <= max_chars ? text : "...\n" + text.substr(text.size() - max_chars);
}

}  // namespace

std::string pyocd_target_for(const McuTarget& mcu) {
  // pyOCD's built-in STM32F412 target covers the ZG part.
  if (mcu.part == "STM32F412ZG") return "stm32f412xg";
  std::string t = mcu.part.empty() ? mcu.name : mcu.part;
  std::transform(t.begin(), t.end(), t.begin(), [](unsigned char c) { return std::tolower(c); });
  return t;
}

BoardResult run_pyocd(const McuTarget& mcu, const std::string& elf, int timeout_s,
                      const PyocdOptions& options) {
  const PyocdTools tools = find_pyocd();
  if (!std::filesystem::is_regular_file(elf)) throw Error(elf + ": no such firmware image");
  std::string target = options.target;
  if (target.empty() && std::getenv("TINYNAS_PYOCD_TARGET") != nullptr) target = std::getenv("TINYNAS_PYOCD_TARGET");
  if (target.empty()) target = pyocd_target_for(mcu);
  std::vector<std::string> probe_args;
  if (!options.probe.empty()) probe_args = {tools.modern ? "-u" : "-b", options.probe};

  ProcessOptions quick;
  quick.timeout_s = 60;
  quick.merge_stderr = true;
  const ProcessResult list = run_process(tools.modern ? std::vector<std::string>{tools.pyocd, "list"}
                                                      : std::vector<std::string>{tools.flashtool, "-l"},
                                         quick);
  if (list.exit_code != 0 || list.out.find("No available debug probes") != std::string::npos)
    throw Error("no debug probe found (" + std::string(tools.modern ? "pyocd list" : "pyocd-flashtool -l") +
                "): connect the board's probe (ST-LINK, CMSIS-DAP or J-Link) and check its USB "
                "permissions (udev rules)\n" + tail(list.out, 2000));

  std::vector<std::string> flash = tools.modern ? std::vector<std::string>{tools.pyocd, "flash", "-t", target}
                                                : std::vector<std::string>{tools.flashtool, "-t", target};
  flash.insert(flash.end(), probe_args.begin(), probe_args.end());
  flash.push_back(elf);
  ProcessOptions slow = quick;
  slow.timeout_s = 300;
  const ProcessResult flashed = run_process(flash, slow);
  if (flashed.exit_code != 0)
    throw Error("pyOCD could not flash " + elf + " to target " + target + " (exit " +
                std::to_string(flashed.exit_code) + "):\n" + tail(flashed.out, 3000));

  // The gdbserver handles semihosting itself while the core runs and prints
  // it on its stdout; vector catch off so that our HardFault handler reports.
  const std::string port = std::to_string(options.gdb_port);
  std::vector<std::string> server_argv =
      tools.modern ? std::vector<std::string>{tools.pyocd, "gdbserver", "-t", target, "-p", port, "--semihosting",
                                              "-O", "semihost_console_type=console", "-O", "vector_catch=none"}
                   : std::vector<std::string>{tools.gdbserver, "-t", target, "-p", port, "-S", "-sc", "stdx",
                                              "-C", "none"};
  server_argv.insert(server_argv.end(), probe_args.begin(), probe_args.end());
  BackgroundProcess server(server_argv, options.work_dir);

  const auto deadline = Clock::now() + std::chrono::seconds(timeout_s);
  Socket gdb;
  while (!gdb.connect_local(options.gdb_port)) {
    if (!server.pump(0.2))
      throw Error("pyOCD gdbserver exited before accepting a connection:\n" + tail(server.err() + server.out(), 3000));
    if (Clock::now() > deadline) throw Error("pyOCD gdbserver did not listen on port " + port);
  }
  // Reset into a clean state (the image ran once after flashing, without a
  // debugger to answer its semihosting traps), then continue.
  gdb.send_all(rsp_packet("qRcmd," + to_hex("reset halt")));
  gdb.read_packet(30);
  gdb.send_all(rsp_packet("c"));

  BoardResult r;
  bool timed_out = false;
  auto finished = [](const std::string& out) {
    return out.find("TN_END\n") != std::string::npos || out.find("TN_FAULT") != std::string::npos;
  };
  while (!finished(server.out())) {
    if (Clock::now() > deadline) {
      timed_out = true;
      break;
    }
    if (!server.pump(0.1)) break;
  }
  // pyOCD ignores SYS_EXIT: a TN_EXIT line, if any, follows TN_END quickly.
  const auto grace = Clock::now() + std::chrono::milliseconds(500);
  while (Clock::now() < grace && server.pump(0.1)) {
  }
  server.kill_and_wait();

  r = parse_board_output(server.out());
  r.backend = "pyocd";
  r.unit = "cycles";
  r.log = server.out() + server.err();
  r.timed_out = timed_out;
  if (timed_out) r.errors.push_back("the board did not finish within " + std::to_string(timeout_s) + " s");
  if (r.firmware_exit >= 0) r.exit_code = r.firmware_exit;
  else if (!r.faults.empty()) r.exit_code = 2;
  else if (r.ended) r.exit_code = any_failed_status(r) ? 1 : 0;
  fill_measured(r, /*ticks_are_instructions=*/false);
  return r;
}

}  // namespace tinynas::deploy
