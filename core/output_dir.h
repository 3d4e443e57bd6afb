// An output folder published as a whole: `tinynas space --out DIR` and
// `tinynas deploy --out DIR` write several files, and a folder that holds some
// new files beside old ones (or half of them) after a kill or an error would
// be a wrong answer. StagedOutput makes DIR all old or all new:
//
// - the constructor checks DIR before any long work: not empty, not the
//   current folder or one of its parents, not a file, and either absent,
//   empty, or an earlier tinynas output (it holds kOutputMarker), so that a
//   folder of the user's is never replaced; it removes what killed runs left
//   beside DIR (".DIR.tmp-PID", ".DIR.old-PID" of processes no longer alive)
//   and makes a fresh staging folder ".DIR.tmp-PID" beside DIR;
// - the caller writes everything into dir();
// - commit() writes the marker last, then swaps the staging folder and DIR in
//   one renameat2(RENAME_EXCHANGE) (or, where the file system lacks it, two
//   renames whose gap the next run's clean-up repairs) and removes the old
//   folder. An exception or a kill before that leaves DIR as it was.
//
// Cost: a few system calls and a directory listing of DIR's parent.
#pragma once

#include <filesystem>
#include <string>

namespace tinynas {

// Written last into every published folder: {"command": ..., "files": [...]}.
inline constexpr const char* kOutputMarker = ".tinynas-output.json";

class StagedOutput {
 public:
  // flag names the option in messages ("--out"); command is recorded in the
  // marker. Throws tinynas::Error on a DIR that may not be replaced.
  StagedOutput(const std::string& out, const std::string& flag, const std::string& command);
  ~StagedOutput();
  StagedOutput(const StagedOutput&) = delete;
  StagedOutput& operator=(const StagedOutput&) = delete;

  // The staging folder to write into (absolute).
  const std::filesystem::path& dir() const { return staging_; }
  // DIR, normalised and absolute.
  const std::filesystem::path& target() const { return target_; }
  // write_file_atomic into the staging folder; relative may hold subfolders.
  void write(const std::string& relative, const std::string& content) const;
  // Publishes the staging folder as DIR; the previous DIR is removed.
  void commit();

 private:
  std::filesystem::path target_, staging_;
  std::string command_;
  bool committed_ = false;
};

// The checks of the constructor alone (for commands that reject a bad --out
// before starting slow work elsewhere): the normalised absolute DIR. Without
// `require_marker` only the path is checked (not empty, not the current
// folder or a parent, not a file), for folders that mark themselves
// otherwise (a search's run folder).
std::filesystem::path check_output_dir(const std::string& out, const std::string& flag, bool require_marker = true);

}  // namespace tinynas
