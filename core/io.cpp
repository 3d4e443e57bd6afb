#include "core/io.h"

#include "core/error.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <chrono>
#include <filesystem>
#include <system_error>

namespace tinynas {

namespace {

namespace fs = std::filesystem;

// std::error_code's message is the strerror() text, without strerror()'s
// shared static buffer (these functions may run on several threads).
std::string reason(int err) { return std::error_code(err, std::generic_category()).message(); }

[[noreturn]] void fail_read(const std::string& path, int err) {
  throw Error(path + ": cannot read: " + reason(err));
}

[[noreturn]] void fail_write(const std::string& path, const std::string& reason_text) {
  throw Error(path + ": cannot write: " + reason_text);
}

// Closes the descriptor on every exit path, including exceptions.
class FdGuard {
 public:
  explicit FdGuard(int fd) : fd_(fd) {}
  FdGuard(const FdGuard&) = delete;
  FdGuard& operator=(const FdGuard&) = delete;
  ~FdGuard() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now so that a failing close (e.g. a delayed write error on NFS) is
  // reported; returns 0 or the errno.
  int close_now() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc == 0 ? 0 : errno;
  }

 private:
  int fd_;
};

// Creates a new temporary file next to target and returns its descriptor and
// name. O_EXCL makes the name ours even with concurrent writers of the same
// target; mode 0666 lets the umask decide the final permissions as it would for
// a plain open(), which mkstemp()'s fixed 0600 would not.
int create_temp_beside(const fs::path& target, std::string* temp_name) {
  static std::atomic<uint64_t> counter{0};
  const fs::path dir = target.parent_path();
  const std::string base = "." + target.filename().string() + ".tmp-" + std::to_string(::getpid());
  for (int attempt = 0; attempt < 100; ++attempt) {
    const uint64_t salt = counter.fetch_add(1) ^
        static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    fs::path candidate = dir / (base + "-" + std::to_string(salt));
    int fd = ::open(candidate.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      *temp_name = candidate.string();
      return fd;
    }
    if (errno != EEXIST) return -errno;
  }
  return -EEXIST;
}

}  // namespace

std::string read_file(const std::string& path, size_t max_bytes) {
  if (path.empty()) throw Error("cannot read a file with an empty name");
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail_read(path, errno);
  FdGuard guard(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) fail_read(path, errno);
  // open() succeeds on a directory; say so instead of a confusing read error.
  if (S_ISDIR(st.st_mode)) fail_read(path, EISDIR);

  std::string content;
  if (max_bytes > 0 && S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > max_bytes)
    throw Error(path + ": cannot read: larger than " + std::to_string(max_bytes >> 20) +
                " MiB (not a configuration or architecture file?)");
  if (S_ISREG(st.st_mode) && st.st_size > 0) content.reserve(static_cast<size_t>(st.st_size));
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_read(path, errno);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
    if (max_bytes > 0 && content.size() > max_bytes)
      throw Error(path + ": cannot read: larger than " + std::to_string(max_bytes >> 20) +
                  " MiB (not a configuration or architecture file?)");
  }
  return content;
}

void write_file_atomic(const std::string& path, const std::string& content) {
  const fs::path target(path);
  const fs::path dir = target.parent_path();
  if (!dir.empty()) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) fail_write(path, "cannot create directory " + dir.string() + ": " + ec.message());
  }

  std::string temp;
  int fd = create_temp_beside(target, &temp);
  if (fd < 0) fail_write(path, reason(-fd));
  FdGuard guard(fd);

  // From here on, any failure must remove the temporary so that no stray
  // ".name.tmp-*" files pile up beside the outputs.
  auto abandon = [&](const std::string& why) {
    std::error_code ignored;
    fs::remove(temp, ignored);
    fail_write(path, why);
  };

  const char* data = content.data();
  size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      abandon(reason(errno));
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  if (int err = guard.close_now(); err != 0) abandon(reason(err));

  std::error_code ec;
  fs::rename(temp, target, ec);
  if (ec) abandon(ec.message());
}

}  // namespace tinynas
