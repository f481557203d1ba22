// Whole-file reads and the atomic writes every runtime output goes through.

#ifndef HAFNIA_RUNTIME_FILEIO_H
#define HAFNIA_RUNTIME_FILEIO_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hafnia {

// Several output files of one run, written together: Prepare writes and
// syncs each one's bytes without touching its path, Commit puts them all in
// place at the end. Until Commit a path keeps its old file; a run that fails
// or is killed before Commit leaves every path as it was.
//
// On Linux each prepared file is an unnamed O_TMPFILE in the directory of
// its path, so even SIGKILL leaves nothing behind; Commit links it under a
// temporary name and renames that over the path, one file after the other
// (the window between the two steps is a few system calls). Where O_TMPFILE
// is not supported (some file systems, no /proc), a named temporary
// "PATH.tmp-XXXXXXXXXXXXXXXX" is written instead; it is removed when the
// run fails, on SIGINT, SIGTERM, SIGHUP and SIGPIPE (then the signal is
// re-raised), and by the destructor. Not thread-safe: one object per thread.
class OutputFiles {
public:
  OutputFiles() = default;
  OutputFiles(const OutputFiles &) = delete;
  OutputFiles &operator=(const OutputFiles &) = delete;
  // Discards every file prepared and not committed.
  ~OutputFiles();

  // Writes `contents` for `path` (flushed to disk); `path` itself is not
  // touched. Errors name the path and the step that failed; the same path
  // twice is an error.
  absl::Status Prepare(const std::string &path, absl::string_view contents);
  // Puts every prepared file in place, in the order prepared. On an error
  // (naming the path), the files before it are in place, it and the rest are
  // discarded.
  absl::Status Commit();

private:
  struct Pending {
    std::string path;
    int fd = -1;           // an O_TMPFILE, or -1
    std::string temporary; // the named temporary otherwise
    int slot = -1;         // its slot for the signal handler
  };
  void Discard(Pending &pending);
  std::vector<Pending> pending_;
};

namespace internal {
// For tests: false makes OutputFiles use named temporaries, as on a file
// system without O_TMPFILE.
void AllowUnnamedTemporaries(bool allowed);
} // namespace internal

// One output on its own: Prepare then Commit of an OutputFiles. Readers see
// the old file or the whole new one, never a part; on failure `path` is
// untouched and no temporary is left. Every output file of the runtime goes
// through here or through OutputFiles.
absl::Status WriteFileAtomically(const std::string &path,
                                 absl::string_view contents);

// The largest file the tools read (models, programs, tensors): 2 GiB - 1,
// protobuf's limit on a message, so no larger model or program could parse.
constexpr uint64_t kMaxInputFileBytes = (uint64_t{1} << 31) - 1;
// The largest chip configuration or BER table (text files).
constexpr uint64_t kMaxTextFileBytes = uint64_t{16} << 20;

// Reads a whole regular file as bytes; NotFound naming the path when it is
// missing. Directories, devices (/dev/zero), pipes and sockets are refused
// before anything is read, and so is a file above `max_bytes` (checked
// before reading and while reading, for files that grow).
absl::StatusOr<std::string> ReadFile(const std::string &path,
                                     uint64_t max_bytes = kMaxInputFileBytes);

// A regular file read a piece at a time (a data set larger than memory):
// opened with ReadFile's checks and errors, without its size limit.
class InputFile {
public:
  static absl::StatusOr<std::unique_ptr<InputFile>>
  Open(const std::string &path);
  InputFile(const InputFile &) = delete;
  InputFile &operator=(const InputFile &) = delete;
  ~InputFile();

  const std::string &path() const { return path_; }
  // The size when it was opened.
  uint64_t size() const { return size_; }
  // Reads up to `n` bytes at `offset` into `out`: the count read, fewer than
  // `n` only at the end of the file.
  absl::StatusOr<uint64_t> ReadAt(uint64_t offset, uint64_t n, char *out) const;

private:
  InputFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  std::string path_;
  int fd_;
  uint64_t size_;
};

} // namespace hafnia

#endif // HAFNIA_RUNTIME_FILEIO_H
