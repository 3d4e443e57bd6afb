#include "datasets/internal/tar_reader.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <system_error>

#include "core/error.h"

namespace tinynas::datasets::internal {

namespace {

std::string archive_message(::archive* a) {
  const char* s = archive_error_string(a);
  return s != nullptr ? s : "unknown libarchive error";
}

// Leading "./" (as `tar -C dir .` writes) is not part of the layout.
std::string strip_dot_slash(std::string name) {
  while (name.size() >= 2 && name[0] == '.' && name[1] == '/') name.erase(0, 2);
  return name;
}

bool fill_entry(::archive* a, archive_entry* e, TarEntry* out) {
  const char* name = archive_entry_pathname(e);
  out->name = strip_dot_slash(name != nullptr ? name : "");
  const auto type = archive_entry_filetype(e);
  out->type = type == AE_IFREG ? TarEntry::Type::kFile
              : type == AE_IFDIR ? TarEntry::Type::kDirectory
                                 : TarEntry::Type::kOther;
  out->size = archive_entry_size(e);
  out->header_position = archive_read_header_position(a);
  return !(out->name.empty() || out->name == ".");
}

void read_data(::archive* a, const std::string& where, std::vector<uint8_t>* out) {
  uint8_t buffer[65536];
  for (;;) {
    const la_ssize_t n = archive_read_data(a, buffer, sizeof buffer);
    if (n < 0) throw Error(where + ": cannot read: " + archive_message(a));
    if (n == 0) return;
    out->insert(out->end(), buffer, buffer + n);
  }
}

}  // namespace

TarReader::TarReader(const std::string& path) : path_(path) {
  archive_ = archive_read_new();
  if (archive_ == nullptr) throw Error(path + ": cannot open as a tar: out of memory");
  archive_read_support_filter_all(archive_);
  archive_read_support_format_tar(archive_);
  if (archive_read_open_filename(archive_, path.c_str(), 1 << 20) != ARCHIVE_OK) {
    const std::string message = archive_message(archive_);
    archive_read_free(archive_);
    archive_ = nullptr;
    throw Error(path + ": cannot open as a tar: " + message);
  }
}

TarReader::~TarReader() {
  if (archive_ != nullptr) archive_read_free(archive_);
}

bool TarReader::next(TarEntry* entry) {
  for (;;) {
    archive_entry* e = nullptr;
    const int rc = archive_read_next_header(archive_, &e);
    if (rc == ARCHIVE_EOF) return false;
    if (rc < ARCHIVE_WARN) {
      const std::string after = member_.empty() ? "" : " (after member " + member_ + ")";
      throw Error(path_ + ": damaged tar" + after + ": " + archive_message(archive_));
    }
    if (!fill_entry(archive_, e, entry)) continue;
    member_ = entry->name;
    return true;
  }
}

void TarReader::read(std::vector<uint8_t>* out) { read_data(archive_, path_ + ": " + member_, out); }

bool TarReader::compressed() const {
  for (int i = 0; i < archive_filter_count(archive_); ++i)
    if (archive_filter_code(archive_, i) != ARCHIVE_FILTER_NONE) return true;
  return false;
}

namespace {

// A libarchive client that reads the shard from a given offset with pread(),
// so many threads can re-read members of one shard without sharing state.
struct PositionedSource {
  int fd = -1;
  int64_t position = 0;
  uint8_t buffer[65536];
};

la_ssize_t positioned_read(::archive* a, void* client, const void** out) {
  auto* src = static_cast<PositionedSource*>(client);
  for (;;) {
    const ssize_t n = ::pread(src->fd, src->buffer, sizeof src->buffer, src->position);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      archive_set_error(a, errno, "%s", std::error_code(errno, std::generic_category()).message().c_str());
      return -1;
    }
    src->position += n;
    *out = src->buffer;
    return n;
  }
}

}  // namespace

std::vector<uint8_t> read_member_at(const std::string& path, int64_t header_position, const std::string& member) {
  const std::string where = path + ": " + member;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(where + ": cannot read: " + std::error_code(errno, std::generic_category()).message());
  auto src = std::make_unique<PositionedSource>();
  src->fd = fd;
  src->position = header_position;
  ::archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  std::vector<uint8_t> bytes;
  std::string failure;
  if (archive_read_open(a, src.get(), nullptr, positioned_read, nullptr) != ARCHIVE_OK) {
    failure = "cannot read: " + archive_message(a);
  } else {
    archive_entry* e = nullptr;
    TarEntry entry;
    if (archive_read_next_header(a, &e) < ARCHIVE_WARN) {
      failure = "cannot read: " + archive_message(a);
    } else if (fill_entry(a, e, &entry), entry.name != member) {
      failure = "the shard changed since it was opened (found '" + entry.name + "' where this member was)";
    } else {
      try {
        read_data(a, where, &bytes);
      } catch (const Error& err) {
        failure = err.what();
        failure = failure.substr(where.size() + 2);
      }
    }
  }
  archive_read_free(a);
  ::close(fd);
  if (!failure.empty()) throw Error(where + ": " + failure);
  return bytes;
}

}  // namespace tinynas::datasets::internal
