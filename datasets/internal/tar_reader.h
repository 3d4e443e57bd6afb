// Reading tar shards with libarchive (any compression libarchive knows), one
// member after the other, and re-reading one member of an uncompressed shard
// from the position its header was found at. Internal to datasets/.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct archive;

namespace tinynas::datasets::internal {

struct TarEntry {
  std::string name;  // as stored, with any leading "./" removed
  enum class Type { kFile, kDirectory, kOther } type = Type::kOther;
  int64_t size = 0;
  int64_t header_position = 0;  // in the uncompressed stream
};

class TarReader {
 public:
  // Opens `path`; throws tinynas::Error("<path>: cannot open as a tar: ...").
  explicit TarReader(const std::string& path);
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  // The next entry, false at the end; throws naming the shard on a damaged
  // archive. Entries named "." or "./" are passed over.
  bool next(TarEntry* entry);
  // The current entry's bytes (appended to out); throws naming the member.
  void read(std::vector<uint8_t>* out);
  // Whether the stream is compressed (then positions cannot be re-read).
  bool compressed() const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string member_;
  ::archive* archive_ = nullptr;
};

// The member whose header starts at header_position of the uncompressed tar at
// path; checks that its name is `member`. Throws naming the shard and member.
std::vector<uint8_t> read_member_at(const std::string& path, int64_t header_position, const std::string& member);

}  // namespace tinynas::datasets::internal
