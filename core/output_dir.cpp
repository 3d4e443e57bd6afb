#include "core/output_dir.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>
#include <system_error>
#include <vector>

#include "core/error.h"
#include "core/io.h"

namespace tinynas {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void refuse(const std::string& flag, const std::string& message) {
  throw Error(at(flag, message));
}

bool process_alive(long pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

// ".NAME.tmp-PID" / ".NAME.old-PID" -> PID, or -1 for other names.
long leftover_pid(const std::string& entry, const std::string& name, const char* kind) {
  const std::string prefix = "." + name + "." + kind + "-";
  if (entry.size() <= prefix.size() || entry.compare(0, prefix.size(), prefix) != 0) return -1;
  const std::string digits = entry.substr(prefix.size());
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      digits.size() > 9)
    return -1;
  return std::stol(digits);
}

// Removes staging and old folders of processes that died; if a kill fell
// between the two renames of the fallback swap (DIR gone, its old copy
// still there), the old copy goes back to DIR first.
void clean_leftovers(const fs::path& target) {
  const std::string name = target.filename().string();
  std::error_code ec;
  std::vector<fs::path> stale_tmp, stale_old;
  for (const auto& entry : fs::directory_iterator(target.parent_path(), ec)) {
    const std::string e = entry.path().filename().string();
    if (long pid = leftover_pid(e, name, "tmp"); pid > 0 && !process_alive(pid)) stale_tmp.push_back(entry.path());
    if (long pid = leftover_pid(e, name, "old"); pid > 0 && !process_alive(pid)) stale_old.push_back(entry.path());
  }
  if (!fs::exists(target, ec) && !stale_old.empty()) {
    fs::rename(stale_old.back(), target, ec);
    if (!ec) stale_old.pop_back();
  }
  for (const auto& p : stale_tmp) fs::remove_all(p, ec);
  for (const auto& p : stale_old) fs::remove_all(p, ec);
}

}  // namespace

fs::path check_output_dir(const std::string& out, const std::string& flag, bool require_marker) {
  if (out.empty()) refuse(flag, "empty path; name the output folder");
  std::error_code ec;
  fs::path target = fs::absolute(fs::path(out), ec);
  if (ec) refuse(flag, shorten(out, 200) + ": " + ec.message());
  target = target.lexically_normal();
  // "DIR/" normalises to "DIR/" with an empty file name.
  while (target.has_parent_path() && target.filename().empty() && target != target.root_path())
    target = target.parent_path();
  if (target == target.root_path()) refuse(flag, "refusing to replace the root folder");
  const fs::path cwd = fs::current_path(ec);
  if (!ec) {
    auto [t_end, c_end] = std::mismatch(target.begin(), target.end(), cwd.begin(), cwd.end());
    if (t_end == target.end())
      refuse(flag, shorten(out, 200) + " is the current folder or one of its parents; name a folder for the output");
  }
  const fs::file_status st = fs::symlink_status(target, ec);
  if (fs::exists(st)) {
    if (!fs::is_directory(st)) refuse(flag, shorten(target.string(), 200) + " exists and is not a folder");
    if (require_marker && !fs::exists(target / kOutputMarker, ec)) {
      for (const auto& entry : fs::directory_iterator(target, ec)) {
        refuse(flag, shorten(target.string(), 200) + " holds files that tinynas did not write (" +
                         shorten(entry.path().filename().string(), 40) +
                         "); choose a new or empty folder, or remove them");
      }
      if (ec) refuse(flag, shorten(target.string(), 200) + ": " + ec.message());
    }
  }
  return target;
}

StagedOutput::StagedOutput(const std::string& out, const std::string& flag, const std::string& command)
    : command_(command) {
  target_ = check_output_dir(out, flag);
  std::error_code ec;
  fs::create_directories(target_.parent_path(), ec);
  if (ec) refuse(flag, "cannot create " + shorten(target_.parent_path().string()) + ": " + ec.message());
  clean_leftovers(target_);
  staging_ = target_.parent_path() / ("." + target_.filename().string() + ".tmp-" + std::to_string(::getpid()));
  fs::remove_all(staging_, ec);
  fs::create_directory(staging_, ec);
  if (ec) refuse(flag, "cannot create " + shorten(staging_.string()) + ": " + ec.message());
}

StagedOutput::~StagedOutput() {
  if (committed_) return;
  std::error_code ec;
  fs::remove_all(staging_, ec);
}

void StagedOutput::write(const std::string& relative, const std::string& content) const {
  write_file_atomic((staging_ / relative).string(), content);
}

void StagedOutput::commit() {
  nlohmann::json files = nlohmann::json::array();
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(staging_, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file()) files.push_back(fs::relative(it->path(), staging_).string());
  }
  std::sort(files.begin(), files.end());
  write(kOutputMarker, nlohmann::json{{"command", command_}, {"files", files}}.dump(2) + "\n");

  const bool replacing = fs::exists(fs::symlink_status(target_, ec));
  if (!replacing) {
    fs::rename(staging_, target_, ec);
    if (ec) throw Error(target_.string() + ": cannot write: " + ec.message());
  } else if (::renameat2(AT_FDCWD, staging_.c_str(), AT_FDCWD, target_.c_str(), RENAME_EXCHANGE) != 0) {
    // No RENAME_EXCHANGE on this file system: two renames; a kill between
    // them is repaired by the next run's clean_leftovers().
    const fs::path old = target_.parent_path() / ("." + target_.filename().string() + ".old-" + std::to_string(::getpid()));
    fs::remove_all(old, ec);
    fs::rename(target_, old, ec);
    if (ec) throw Error(target_.string() + ": cannot replace: " + ec.message());
    fs::rename(staging_, target_, ec);
    if (ec) {
      std::error_code ignored;
      fs::rename(old, target_, ignored);
      throw Error(target_.string() + ": cannot write: " + ec.message());
    }
    fs::remove_all(old, ec);
    committed_ = true;
    return;
  }
  committed_ = true;
  // After the exchange the staging name holds the previous output.
  fs::remove_all(staging_, ec);
}

}  // namespace tinynas
