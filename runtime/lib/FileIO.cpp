// Whole-file reads and the atomic writes behind every output of the runtime.

#include "hafnia/runtime/FileIO.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace hafnia {
namespace {

// The directory part of `path`, for messages and the temporary file.
std::string DirectoryOf(const std::string &path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos)
    return ".";
  if (slash == 0)
    return "/";
  return path.substr(0, slash);
}

// Closes a file descriptor on every path out of a function.
class FileDescriptor {
public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor &) = delete;
  FileDescriptor &operator=(const FileDescriptor &) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0)
      ::close(fd_);
  }
  int get() const { return fd_; }
  // Closes now, returning close's result (it can report a failed write).
  int Close() {
    const int result = ::close(fd_);
    fd_ = -1;
    return result;
  }

private:
  int fd_;
};

} // namespace

absl::StatusOr<std::string> ReadFile(const std::string &path,
                                     uint64_t max_bytes) {
  // O_NONBLOCK: opening a FIFO without a writer must not hang; it is refused
  // below as not a regular file.
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) {
    const int error = errno;
    if (error == ENOENT)
      return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    return absl::ErrnoToStatus(error, absl::StrCat(path, ": cannot open it"));
  }
  struct stat info;
  if (::fstat(fd.get(), &info) != 0)
    return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot stat it"));
  if (S_ISDIR(info.st_mode))
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": is a directory, expected a file"));
  if (!S_ISREG(info.st_mode))
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": is not a regular file (a device, pipe or socket): give a "
              "file"));
  auto too_large = [&](uint64_t size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: is at least %d bytes, above the limit of %d bytes for this kind "
        "of file",
        path, size, max_bytes));
  };
  if (static_cast<uint64_t>(info.st_size) > max_bytes)
    return too_large(static_cast<uint64_t>(info.st_size));
  std::string contents;
  contents.reserve(static_cast<size_t>(info.st_size));
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot read it"));
    }
    if (n == 0)
      break;
    contents.append(buffer, static_cast<size_t>(n));
    if (contents.size() > max_bytes)
      return too_large(contents.size());
  }
  return contents;
}

absl::Status WriteFileAtomically(const std::string &path,
                                 absl::string_view contents) {
  if (path.empty() || path.back() == '/')
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write '", path, "': expected a file name"));
  // A random name, created exclusively, so concurrent writers of the same
  // path never share a temporary. The mode 0666 is narrowed by the umask,
  // giving the permissions of any new file.
  std::random_device random;
  std::string temporary;
  int raw_fd = -1;
  for (int attempt = 0; attempt < 8 && raw_fd < 0; ++attempt) {
    temporary = absl::StrFormat("%s.tmp-%08x%08x", path, random(), random());
    raw_fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                    0666);
    if (raw_fd < 0 && errno != EEXIST)
      break;
  }
  if (raw_fd < 0) {
    const int error = errno;
    const std::string directory = DirectoryOf(path);
    if (error == ENOENT)
      return absl::NotFoundError(absl::StrCat("cannot write '", path,
                                              "': directory '", directory,
                                              "' does not exist"));
    return absl::ErrnoToStatus(
        error,
        absl::StrCat("cannot write '", path,
                     "': cannot create a temporary file in '", directory, "'"));
  }
  FileDescriptor fd(raw_fd);
  auto fail = [&](absl::string_view step) {
    const int error = errno;
    if (fd.get() >= 0)
      fd.Close();
    ::unlink(temporary.c_str());
    return absl::ErrnoToStatus(
        error, absl::StrCat("cannot write '", path, "': ", step));
  };

  const char *next = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    const ssize_t n = ::write(fd.get(), next, left);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return fail(absl::StrCat("writing '", temporary, "' failed"));
    }
    next += n;
    left -= static_cast<size_t>(n);
  }
  // Without the sync, a crash soon after the rename can leave an empty file
  // under the new name on some file systems.
  if (::fsync(fd.get()) != 0)
    return fail(absl::StrCat("flushing '", temporary, "' failed"));
  if (fd.Close() != 0)
    return fail(absl::StrCat("closing '", temporary, "' failed"));
  if (std::rename(temporary.c_str(), path.c_str()) != 0)
    return fail(absl::StrCat("renaming '", temporary, "' to it failed"));
  return absl::OkStatus();
}

} // namespace hafnia
