// Whole-file reads and the atomic writes behind every output of the runtime.

#include "hafnia/runtime/FileIO.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
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
  // Gives the descriptor up without closing it.
  void Release() { fd_ = -1; }

private:
  int fd_;
};

} // namespace

namespace {

// Opens `path` for reading, refusing what is not a regular file before
// anything is read; `info` is its status.
absl::StatusOr<int> OpenRegularFile(const std::string &path,
                                    struct stat &info) {
  // O_NONBLOCK: opening a FIFO without a writer must not hang; it is refused
  // below as not a regular file.
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) {
    const int error = errno;
    if (error == ENOENT)
      return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    return absl::ErrnoToStatus(error, absl::StrCat(path, ": cannot open it"));
  }
  if (::fstat(fd.get(), &info) != 0)
    return absl::ErrnoToStatus(errno, absl::StrCat(path, ": cannot stat it"));
  if (S_ISDIR(info.st_mode))
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": is a directory, expected a file"));
  if (!S_ISREG(info.st_mode))
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": is not a regular file (a device, pipe or socket): give a "
              "file"));
  int result = fd.get();
  fd.Release();
  return result;
}

} // namespace

absl::StatusOr<std::string> ReadFile(const std::string &path,
                                     uint64_t max_bytes) {
  struct stat info;
  absl::StatusOr<int> opened = OpenRegularFile(path, info);
  if (!opened.ok())
    return opened.status();
  FileDescriptor fd(*opened);
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

absl::StatusOr<std::unique_ptr<InputFile>>
InputFile::Open(const std::string &path) {
  struct stat info;
  absl::StatusOr<int> fd = OpenRegularFile(path, info);
  if (!fd.ok())
    return fd.status();
  return std::unique_ptr<InputFile>(
      new InputFile(path, *fd, static_cast<uint64_t>(info.st_size)));
}

InputFile::~InputFile() { ::close(fd_); }

absl::StatusOr<uint64_t> InputFile::ReadAt(uint64_t offset, uint64_t n,
                                           char *out) const {
  uint64_t done = 0;
  while (done < n) {
    const ssize_t got =
        ::pread(fd_, out + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR)
        continue;
      return absl::ErrnoToStatus(errno,
                                 absl::StrCat(path_, ": cannot read it"));
    }
    if (got == 0)
      break;
    done += static_cast<uint64_t>(got);
  }
  return done;
}

namespace {

// Named temporaries that exist right now, for the signal handler: fixed
// slots of plain characters, so that the handler only reads memory and
// calls unlink (async-signal-safe).
constexpr int kSlots = 64;
constexpr size_t kPathBytes = 4096;
struct Slot {
  std::atomic<bool> claimed{false}; // by Register, for writing the path
  std::atomic<bool> ready{false};   // the path is complete: the handler reads
  char path[kPathBytes];
};
Slot g_slots[kSlots];

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGPIPE};

void RemoveTemporariesAndReraise(int signal) {
  for (Slot &slot : g_slots)
    if (slot.ready.load())
      ::unlink(slot.path);
  ::signal(signal, SIG_DFL);
  ::raise(signal);
}

// Installs the handler for the signals nobody else handles, once.
void InstallSignalHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int signal : kSignals) {
      struct sigaction previous;
      if (::sigaction(signal, nullptr, &previous) == 0 &&
          previous.sa_handler == SIG_DFL && !(previous.sa_flags & SA_SIGINFO)) {
        struct sigaction action = {};
        action.sa_handler = RemoveTemporariesAndReraise;
        sigemptyset(&action.sa_mask);
        ::sigaction(signal, &action, nullptr);
      }
    }
  });
}

// Registers a named temporary for the handler; -1 when there is no free
// slot or the path is too long (it is then only removed by the program).
int Register(const std::string &path) {
  if (path.size() >= kPathBytes)
    return -1;
  InstallSignalHandlers();
  for (int i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (!g_slots[i].claimed.compare_exchange_strong(expected, true))
      continue;
    std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
    g_slots[i].ready.store(true);
    return i;
  }
  return -1;
}

void Unregister(int slot) {
  if (slot < 0)
    return;
  g_slots[slot].ready.store(false);
  g_slots[slot].claimed.store(false);
}

// A fresh temporary name next to `path`.
std::string TemporaryName(const std::string &path) {
  std::random_device random;
  return absl::StrFormat("%s.tmp-%08x%08x", path, random(), random());
}

std::atomic<bool> g_unnamed_allowed{true};

// Whether unnamed files can be given a name through /proc/self/fd.
bool ProcFdAvailable() {
  static const bool available = ::access("/proc/self/fd", X_OK) == 0;
  return available && g_unnamed_allowed.load();
}

absl::Status WriteAll(int fd, absl::string_view contents) {
  const char *next = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, next, left);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return absl::ErrnoToStatus(errno, "writing failed");
    }
    next += n;
    left -= static_cast<size_t>(n);
  }
  // Without the sync, a crash soon after the rename can leave an empty file
  // under the new name on some file systems.
  if (::fsync(fd) != 0)
    return absl::ErrnoToStatus(errno, "flushing failed");
  return absl::OkStatus();
}

absl::Status WriteError(const std::string &path, int error,
                        absl::string_view step) {
  return absl::ErrnoToStatus(error,
                             absl::StrCat("cannot write '", path, "': ", step));
}

} // namespace

namespace internal {
void AllowUnnamedTemporaries(bool allowed) { g_unnamed_allowed = allowed; }
} // namespace internal

OutputFiles::~OutputFiles() {
  for (Pending &pending : pending_)
    Discard(pending);
}

void OutputFiles::Discard(Pending &pending) {
  if (pending.fd >= 0)
    ::close(pending.fd);
  pending.fd = -1;
  if (!pending.temporary.empty())
    ::unlink(pending.temporary.c_str());
  pending.temporary.clear();
  Unregister(pending.slot);
  pending.slot = -1;
}

absl::Status OutputFiles::Prepare(const std::string &path,
                                  absl::string_view contents) {
  if (path.empty() || path.back() == '/')
    return absl::InvalidArgumentError(
        absl::StrCat("cannot write '", path, "': expected a file name"));
  for (const Pending &pending : pending_)
    if (pending.path == path)
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot write '", path, "' twice in one run: give another name"));
  const std::string directory = DirectoryOf(path);
  Pending pending;
  pending.path = path;
  // The mode 0666 is narrowed by the umask, giving the permissions of any
  // new file.
  int fd = -1, error = EOPNOTSUPP;
  if (ProcFdAvailable()) {
    fd = ::open(directory.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
    error = fd < 0 ? errno : 0;
  }
  const bool named = fd < 0 && error != ENOENT && error != ENOTDIR;
  if (named) {
    // No O_TMPFILE here: a random name, created exclusively, so concurrent
    // writers of the same path never share a temporary.
    for (int attempt = 0; attempt < 8 && fd < 0; ++attempt) {
      pending.temporary = TemporaryName(path);
      fd = ::open(pending.temporary.c_str(),
                  O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      error = fd < 0 ? errno : 0;
      if (fd < 0 && error != EEXIST)
        break;
    }
  }
  if (fd < 0) {
    if (error == ENOENT || error == ENOTDIR)
      return absl::NotFoundError(absl::StrCat("cannot write '", path,
                                              "': directory '", directory,
                                              "' does not exist"));
    return WriteError(
        path, error,
        absl::StrCat("cannot create a temporary file in '", directory, "'"));
  }
  if (named)
    pending.slot = Register(pending.temporary);
  absl::Status written = WriteAll(fd, contents);
  if (named) {
    if (::close(fd) != 0 && written.ok())
      written = absl::ErrnoToStatus(errno, "closing failed");
  } else {
    pending.fd = fd;
  }
  if (!written.ok()) {
    Discard(pending);
    return absl::Status(written.code(), absl::StrCat("cannot write '", path,
                                                     "': ", written.message(),
                                                     " in '", directory, "'"));
  }
  pending_.push_back(std::move(pending));
  return absl::OkStatus();
}

absl::Status OutputFiles::Commit() {
  absl::Status status = absl::OkStatus();
  std::vector<std::string> directories;
  for (Pending &pending : pending_) {
    if (pending.fd >= 0) {
      // Name the unnamed file next to its path, then rename it over.
      const std::string proc = absl::StrCat("/proc/self/fd/", pending.fd);
      int error = EEXIST;
      for (int attempt = 0; attempt < 8 && error == EEXIST; ++attempt) {
        pending.temporary = TemporaryName(pending.path);
        pending.slot = Register(pending.temporary);
        error = ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD,
                         pending.temporary.c_str(), AT_SYMLINK_FOLLOW) == 0
                    ? 0
                    : errno;
        if (error != 0) {
          Unregister(pending.slot);
          pending.slot = -1;
          pending.temporary.clear();
        }
      }
      ::close(pending.fd);
      pending.fd = -1;
      if (error != 0) {
        status = WriteError(pending.path, error,
                            "giving the temporary file a name failed");
        break;
      }
    }
    if (std::rename(pending.temporary.c_str(), pending.path.c_str()) != 0) {
      status = WriteError(
          pending.path, errno,
          absl::StrCat("renaming '", pending.temporary, "' to it failed"));
      break;
    }
    pending.temporary.clear();
    Unregister(pending.slot);
    pending.slot = -1;
    directories.push_back(DirectoryOf(pending.path));
  }
  // What failed and what was not reached is discarded.
  for (Pending &pending : pending_)
    Discard(pending);
  pending_.clear();
  // Make the renames durable (best effort: some file systems refuse).
  std::sort(directories.begin(), directories.end());
  directories.erase(std::unique(directories.begin(), directories.end()),
                    directories.end());
  for (const std::string &directory : directories) {
    FileDescriptor fd(::open(directory.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() >= 0)
      ::fsync(fd.get());
  }
  return status;
}

absl::Status WriteFileAtomically(const std::string &path,
                                 absl::string_view contents) {
  OutputFiles outputs;
  if (absl::Status status = outputs.Prepare(path, contents); !status.ok())
    return status;
  return outputs.Commit();
}

} // namespace hafnia
