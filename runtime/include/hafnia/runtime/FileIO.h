// Whole-file reads and the atomic writes every runtime output goes through.

#ifndef HAFNIA_RUNTIME_FILEIO_H
#define HAFNIA_RUNTIME_FILEIO_H

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace hafnia {

// Writes `contents` to a new temporary file in the directory of `path`,
// flushes it to disk and renames it over `path`: readers see the old file or
// the whole new one, never a part. On failure the temporary is removed and
// `path` is untouched. Every output file of the runtime goes through here.
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

} // namespace hafnia

#endif // HAFNIA_RUNTIME_FILEIO_H
