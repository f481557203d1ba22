// Whole-file reads and the atomic writes every runtime output goes through.

#ifndef HAFNIA_RUNTIME_FILEIO_H
#define HAFNIA_RUNTIME_FILEIO_H

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

// Reads a whole file as bytes; NotFound naming the path when it is missing.
absl::StatusOr<std::string> ReadFile(const std::string &path);

} // namespace hafnia

#endif // HAFNIA_RUNTIME_FILEIO_H
