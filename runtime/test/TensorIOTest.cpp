// Tensor files: .npy round trips and the exact bytes numpy.save writes,
// NumPy files of every supported dtype, ONNX TensorProto files (from the ONNX
// test suite and from onnx.helper), every error path, and atomic writes.

#include "hafnia/runtime/TensorIO.h"

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace hafnia {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Files written by real NumPy 1.24 and ONNX 1.12 (/usr/bin/python3), as their
// exact bytes: the tests cannot run Python. Each comment is the call that
// wrote the bytes to a BytesIO `f` (write_array is numpy.lib.format's).

// np.save(f, np.array([[-1.5, 0.25, 3], [1e-3, 2.5e10, -0.0]], '<f8'))
const char kNumpyF8[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'sh"
    "ape': (2, 3), }                                                   "
    "       \x0a"
    "\x00\x00\x00\x00\x00\x00\xf8\xbf\x00\x00\x00\x00\x00\x00\xd0\x3f\x00"
    "\x00\x00\x00\x00\x00\x08@\xfc\xa9\xf1\xd2MbP\x3f\x00\x00\x00\xe8vH"
    "\x17"
    "B\x00\x00\x00\x00\x00\x00\x00\x80";

// np.save(f, np.array([0, 3, 1, 9, 2], dtype='<i8'))
const char kNumpyI8Labels[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, 'sh"
    "ape': (5,), }                                                     "
    "       \x0a"
    "\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00\x01"
    "\x00\x00\x00\x00\x00\x00\x00\x09\x00\x00\x00\x00\x00\x00\x00\x02\x00"
    "\x00\x00\x00\x00\x00\x00";

// np.save(f, np.array([True, False, True, True]))
const char kNumpyBool[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '|b1', 'fortran_order': False, 'sh"
    "ape': (4,), }                                                     "
    "       \x0a"
    "\x01\x00\x01\x01";

// write_array(f, np.array([[1, -2], [3.5, 4]], '<f4'), version=(2, 0))
const char kNumpyF4V2[] =
    "\x93NUMPY\x02\x00t\x00\x00\x00{'descr': '<f4', 'fortran_order': Fa"
    "lse, 'shape': (2, 2), }                                           "
    "             \x0a"
    "\x00\x00\x80\x3f\x00\x00\x00\xc0\x00\x00`@\x00\x00\x80@";

// write_array(f, np.array([7, 8, 9], '<f4'), version=(3, 0))
const char kNumpyF4V3[] =
    "\x93NUMPY\x03\x00t\x00\x00\x00{'descr': '<f4', 'fortran_order': Fa"
    "lse, 'shape': (3,), }                                             "
    "             \x0a"
    "\x00\x00\xe0@\x00\x00\x00"
    "A\x00\x00\x10"
    "A";

// np.save(f, np.array(2.5, dtype='<f4'))
const char kNumpyF4Scalar[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'sh"
    "ape': (), }                                                       "
    "       \x0a"
    "\x00\x00 @";

// np.save(f, np.array([[1, 2, 3], [4, 5, 6]], dtype='<f4'))
const char kNumpyF4Matrix[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'sh"
    "ape': (2, 3), }                                                   "
    "       \x0a"
    "\x00\x00\x80\x3f\x00\x00\x00@\x00\x00@@\x00\x00\x80@\x00\x00\xa0@\x00"
    "\x00\xc0@";

// np.save(f, np.zeros((2, 0, 3), dtype='<f4'))
const char kNumpyF4Empty[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'sh"
    "ape': (2, 0, 3), }                                                "
    "       \x0a";

// np.save(f, np.array([0, 200, 255], dtype='|u1'))
const char kNumpyU1[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '|u1', 'fortran_order': False, 'sh"
    "ape': (3,), }                                                     "
    "       \x0a"
    "\x00\xc8\xff";

// np.save(f, np.array([-128, 0, 127], dtype='|i1'))
const char kNumpyI1[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '|i1', 'fortran_order': False, 'sh"
    "ape': (3,), }                                                     "
    "       \x0a"
    "\x80\x00\x7f";

// np.save(f, np.array([-300, 300], dtype='<i2'))
const char kNumpyI2[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<i2', 'fortran_order': False, 'sh"
    "ape': (2,), }                                                     "
    "       \x0a"
    "\xd4\xfe,\x01";

// np.save(f, np.array([-70000, 70000], dtype='<i4'))
const char kNumpyI4[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<i4', 'fortran_order': False, 'sh"
    "ape': (2,), }                                                     "
    "       \x0a"
    "\x90\xee\xfe\xffp\x11\x01\x00";

// np.save(f, np.array([2**40, 7], dtype='<u8'))
const char kNumpyU8[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<u8', 'fortran_order': False, 'sh"
    "ape': (2,), }                                                     "
    "       \x0a"
    "\x00\x00\x00\x00\x00\x01\x00\x00\x07\x00\x00\x00\x00\x00\x00\x00";

// np.save(f, np.array([0.5, -2.0, 65504.0, 2**-24], dtype='<f2'))
const char kNumpyF2[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f2', 'fortran_order': False, 'sh"
    "ape': (4,), }                                                     "
    "       \x0a"
    "\x00"
    "8\x00\xc0\xff{\x01\x00";

// np.save(f, np.asfortranarray(np.array([[1, 2], [3, 4]], dtype='<f4')))
const char kNumpyFortran[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': True, 'sha"
    "pe': (2, 2), }                                                    "
    "       \x0a"
    "\x00\x00\x80\x3f\x00\x00@@\x00\x00\x00@\x00\x00\x80@";

// np.save(f, np.array([1, 2], dtype='>f4'))
const char kNumpyBigEndian[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '>f4', 'fortran_order': False, 'sh"
    "ape': (2,), }                                                     "
    "       \x0a"
    "\x3f\x80\x00\x00@\x00\x00\x00";

// np.save(f, np.array([1+2j], dtype='<c8'))
const char kNumpyComplex[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<c8', 'fortran_order': False, 'sh"
    "ape': (1,), }                                                     "
    "       \x0a"
    "\x00\x00\x80\x3f\x00\x00\x00@";

// np.save(f, np.zeros(1, dtype=[('x', '<f4'), ('y', '<i4')]))
const char kNumpyStructured[] =
    "\x93NUMPY\x01\x00v\x00{'descr': [('x', '<f4'), ('y', '<i4')], 'for"
    "tran_order': False, 'shape': (1,), }                              "
    "       \x0a"
    "\x00\x00\x00\x00\x00\x00\x00\x00";

// np.save(f, np.array([1, 0, 2], dtype='<f4'))
const char kNumpyF4Labels[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'sh"
    "ape': (3,), }                                                     "
    "       \x0a"
    "\x00\x00\x80\x3f\x00\x00\x00\x00\x00\x00\x00@";

// np.save(f, np.array([1, 0.5], dtype='<f8'))
const char kNumpyF8NonIntegral[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'sh"
    "ape': (2,), }                                                     "
    "       \x0a"
    "\x00\x00\x00\x00\x00\x00\xf0\x3f\x00\x00\x00\x00\x00\x00\xe0\x3f";

// np.save(f, np.array([[1, 2]], dtype='<i4'))
const char kNumpyI4Matrix[] =
    "\x93NUMPY\x01\x00v\x00{'descr': '<i4', 'fortran_order': False, 'sh"
    "ape': (1, 2), }                                                   "
    "       \x0a"
    "\x01\x00\x00\x00\x02\x00\x00\x00";

// onnx.helper.make_tensor('w', TensorProto.FLOAT, [2, 2], [1, -2, 3.5, 0.25])
const char kOnnxFloatData[] =
    "\x08\x02\x08\x02\x10\x01\x22\x10\x00\x00\x80\x3f\x00\x00\x00\xc0\x00"
    "\x00`@\x00\x00\x80>B\x01w";

// onnx.helper.make_tensor('d', TensorProto.DOUBLE, [3], [0.5, -1e-3, 1e30])
const char kOnnxDoubleData[] = "\x08\x03\x10\x0b"
                               "B\x01"
                               "dR\x18\x00\x00\x00\x00\x00\x00\xe0\x3f\xfc"
                               "\xa9\xf1\xd2MbP\xbf\xea\x8c\xa0"
                               "9Y>)F";

// onnx.helper.make_tensor('i', TensorProto.INT64, [2], [-5, 1 << 40])
const char kOnnxInt64Data[] =
    "\x08\x02\x10\x07:\x10\xfb\xff\xff\xff\xff\xff\xff\xff\xff\x01\x80\x80"
    "\x80\x80\x80 B\x01i";

// onnx.helper.make_tensor('j', TensorProto.INT32, [1, 2], [-7, 100000])
const char kOnnxInt32Data[] =
    "\x08\x01\x08\x02\x10\x06*\x0d\xf9\xff\xff\xff\xff\xff\xff\xff\xff\x01"
    "\xa0\x8d\x06"
    "B\x01j";

// onnx.numpy_helper.from_array(np.array([[0.125, -4.0]], np.float64), 'r')
const char kOnnxRawDouble[] = "\x08\x01\x08\x02\x10\x0b"
                              "B\x01rJ\x10\x00\x00\x00\x00\x00\x00\xc0"
                              "\x3f\x00\x00\x00\x00\x00\x00\x10\xc0";

// onnx.numpy_helper.from_array(np.array([-3, 2**31 - 1], dtype=np.int32), 'k')
const char kOnnxRawInt32[] = "\x08\x02\x10\x06"
                             "B\x01kJ\x08\xfd\xff\xff\xff\xff\xff\xff\x7f";

// onnx.numpy_helper.from_array(np.array(3.0, dtype=np.float32), 's')
const char kOnnxScalar[] = "\x10\x01"
                           "B\x01sJ\x04\x00\x00@@";

// t = onnx.numpy_helper.from_array(np.ones((2, 2), np.float32), 'big'), then
// external_data_helper.set_external_data(t, 'weights.bin') and raw_data cleared
const char kOnnxExternal[] = "\x08\x02\x08\x02\x10\x01"
                             "B\x03"
                             "bigj\x17\x0a\x08location\x12\x0b"
                             "weights.binp\x01";

// onnx.numpy_helper.from_array(np.array([1, 2], dtype=np.uint8), 'u')
const char kOnnxUint8[] = "\x08\x02\x10\x02"
                          "B\x01uJ\x02\x01\x02";

// TensorProto(name='short', data_type=FLOAT, dims=[3], float_data=[1, 2])
const char kOnnxShortFloatData[] =
    "\x08\x03\x10\x01\x22\x08\x00\x00\x80\x3f\x00\x00\x00@B\x05short";

// TensorProto(name='shortraw', data_type=FLOAT, dims=[2, 2],
// raw_data=bytes(12))
const char kOnnxShortRawData[] = "\x08\x02\x08\x02\x10\x01"
                                 "B\x08shortrawJ\x0c\x00\x00\x00\x00\x00\x00"
                                 "\x00\x00\x00\x00\x00\x00";

// TensorProto(name='both', data_type=FLOAT, dims=[1], float_data=[1],
//             raw_data=bytes(4))
const char kOnnxBothFields[] = "\x08\x01\x10\x01\x22\x04\x00\x00\x80\x3f"
                               "B\x04"
                               "bothJ\x04\x00\x00"
                               "\x00\x00";

// TensorProto(name='wrong', data_type=FLOAT, dims=[1], int64_data=[1])
const char kOnnxWrongField[] = "\x08\x01\x10\x01:\x01\x01"
                               "B\x05wrong";

// The bytes of a literal, including its NULs (but not the terminating one).
template <size_t N> std::string Bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

// A directory of its own for each test: ctest runs tests in parallel.
std::string FreshDir() {
  const testing::TestInfo *test =
      testing::UnitTest::GetInstance()->current_test_info();
  const fs::path dir = fs::path(testing::TempDir()) /
                       (std::string("hafnia-tensorio-") + test->name() + "-" +
                        std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string WriteBytes(const std::string &dir, const std::string &name,
                       const std::string &bytes) {
  const std::string path = dir + "/" + name;
  absl::Status status = WriteFileAtomically(path, bytes);
  EXPECT_TRUE(status.ok()) << status;
  return path;
}

// A .npy file with the given header text (padding not required by readers).
std::string NpyWithHeader(const std::string &header, const std::string &data,
                          int major = 1) {
  std::string bytes("\x93NUMPY", 6);
  bytes.push_back(static_cast<char>(major));
  bytes.push_back(0);
  const size_t size = header.size();
  for (int i = 0; i < (major == 1 ? 2 : 4); ++i)
    bytes.push_back(static_cast<char>((size >> (8 * i)) & 0xff));
  return bytes + header + data;
}

std::vector<std::string> FilesIn(const std::string &dir) {
  std::vector<std::string> names;
  for (const fs::directory_entry &entry : fs::directory_iterator(dir))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

uint32_t Bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

// --- Round trips and the bytes numpy.save writes ---------------------------

TEST(WriteNpy, RoundTripsRanksZeroToFourAndZeroSize) {
  const std::string dir = FreshDir();
  const std::vector<std::vector<int64_t>> shapes = {
      {}, {5}, {2, 3}, {2, 3, 4}, {1, 2, 3, 2}, {0}, {2, 0, 3}, {0, 0, 0, 0}};
  for (const std::vector<int64_t> &shape : shapes) {
    Tensor tensor;
    tensor.shape = shape;
    tensor.data.resize(tensor.NumElements());
    for (size_t i = 0; i < tensor.data.size(); ++i)
      tensor.data[i] = static_cast<float>(i) * 0.75f - 3.0f;
    // Values that only survive a bit-exact copy.
    const float special[] = {-0.0f, std::numeric_limits<float>::infinity(),
                             std::numeric_limits<float>::quiet_NaN(),
                             std::numeric_limits<float>::denorm_min(),
                             std::numeric_limits<float>::max()};
    for (size_t i = 0; i < tensor.data.size() && i < 5; ++i)
      tensor.data[i] = special[i];
    const std::string path =
        dir + "/rank" + std::to_string(shape.size()) + ".npy";
    ASSERT_TRUE(WriteNpy(path, tensor).ok());
    absl::StatusOr<Tensor> read = ReadNpy(path);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->shape, shape);
    ASSERT_EQ(read->data.size(), tensor.data.size());
    for (size_t i = 0; i < tensor.data.size(); ++i)
      EXPECT_EQ(Bits(read->data[i]), Bits(tensor.data[i])) << "element " << i;
  }
}

TEST(WriteNpy, WritesTheBytesNumpySaveWrites) {
  const std::string dir = FreshDir();
  struct Case {
    Tensor tensor;
    std::string expected;
  };
  const Case cases[] = {
      {{{}, {2.5f}}, Bytes(kNumpyF4Scalar)},
      {{{2, 3}, {1, 2, 3, 4, 5, 6}}, Bytes(kNumpyF4Matrix)},
      {{{2, 0, 3}, {}}, Bytes(kNumpyF4Empty)},
  };
  for (const Case &c : cases) {
    const std::string path = dir + "/out.npy";
    ASSERT_TRUE(WriteNpy(path, c.tensor).ok());
    absl::StatusOr<std::string> bytes = ReadFile(path);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_EQ(*bytes, c.expected);
  }
}

TEST(WriteNpy, PadsTheHeaderToSixtyFourBytes) {
  const std::string dir = FreshDir();
  const std::vector<std::vector<int64_t>> shapes = {
      {1}, {123456789012, 0}, {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 0}};
  for (const std::vector<int64_t> &shape : shapes) {
    Tensor tensor{shape, std::vector<float>()};
    tensor.data.resize(tensor.NumElements());
    const std::string path = dir + "/padded.npy";
    ASSERT_TRUE(WriteNpy(path, tensor).ok());
    absl::StatusOr<std::string> bytes = ReadFile(path);
    ASSERT_TRUE(bytes.ok());
    const size_t header_end = bytes->find('\n') + 1;
    EXPECT_EQ(header_end % 64, 0u);
    EXPECT_EQ(header_end, bytes->size() - 4 * tensor.data.size());
    EXPECT_EQ((*bytes)[6], 1) << "format version 1.0";
    absl::StatusOr<Tensor> read = ReadNpy(path);
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(read->shape, shape);
  }
}

TEST(WriteNpy, UsesVersionTwoOnlyForHeadersBeyondSixtyFourKilobytes) {
  // 30000 dimensions of 1 need a header of about 90 kB, as numpy.save would
  // also switch to format 2.0 for.
  Tensor tensor{std::vector<int64_t>(30000, 1), {42.0f}};
  const std::string path = FreshDir() + "/wide.npy";
  ASSERT_TRUE(WriteNpy(path, tensor).ok());
  absl::StatusOr<std::string> bytes = ReadFile(path);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ((*bytes)[6], 2);
  EXPECT_EQ((bytes->size() - 4) % 64, 0u);
  absl::StatusOr<Tensor> read = ReadNpy(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->shape.size(), 30000u);
  EXPECT_THAT(read->data, ElementsAre(42.0f));
}

TEST(WriteNpy, RejectsDataThatDoesNotMatchTheShape) {
  const std::string dir = FreshDir();
  absl::Status status = WriteNpy(dir + "/bad.npy", Tensor{{2, 3}, {1, 2}});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("bad.npy"));
  EXPECT_THAT(status.message(),
              HasSubstr("(2, 3) has 6 elements but the tensor holds 2 values"));
  status = WriteNpy(dir + "/bad.npy", Tensor{{2, -1}, {}});
  EXPECT_THAT(status.message(), HasSubstr("dimension -1 is negative"));
  EXPECT_THAT(FilesIn(dir), IsEmpty());
}

// --- Reading files numpy.save wrote ----------------------------------------

class NumpyFiles : public testing::Test {
protected:
  void SetUp() override { dir_ = FreshDir(); }
  std::string Write(const std::string &bytes, const char *name = "in.npy") {
    return WriteBytes(dir_, name, bytes);
  }
  Tensor Read(const std::string &bytes) {
    absl::StatusOr<Tensor> tensor = ReadNpy(Write(bytes));
    EXPECT_TRUE(tensor.ok()) << tensor.status();
    return tensor.ok() ? *tensor : Tensor();
  }
  std::string ReadError(const std::string &bytes) {
    absl::StatusOr<Tensor> tensor = ReadNpy(Write(bytes));
    EXPECT_FALSE(tensor.ok());
    if (tensor.ok())
      return "";
    EXPECT_EQ(tensor.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(tensor.status().message(), HasSubstr("in.npy: "));
    return std::string(tensor.status().message());
  }
  std::string dir_;
};

TEST_F(NumpyFiles, Float64IsConvertedToFloat) {
  Tensor tensor = Read(Bytes(kNumpyF8));
  EXPECT_THAT(tensor.shape, ElementsAre(2, 3));
  EXPECT_THAT(tensor.data,
              ElementsAre(-1.5f, 0.25f, 3.0f, static_cast<float>(1e-3),
                          static_cast<float>(2.5e10), 0.0f));
  EXPECT_TRUE(std::signbit(tensor.data[5])) << "-0.0 keeps its sign";
}

TEST_F(NumpyFiles, IntegersAndBooleansAreConvertedToFloat) {
  EXPECT_THAT(Read(Bytes(kNumpyI8Labels)).data, ElementsAre(0, 3, 1, 9, 2));
  EXPECT_THAT(Read(Bytes(kNumpyI4)).data, ElementsAre(-70000, 70000));
  EXPECT_THAT(Read(Bytes(kNumpyI2)).data, ElementsAre(-300, 300));
  EXPECT_THAT(Read(Bytes(kNumpyI1)).data, ElementsAre(-128, 0, 127));
  EXPECT_THAT(Read(Bytes(kNumpyU1)).data, ElementsAre(0, 200, 255));
  EXPECT_THAT(Read(Bytes(kNumpyU8)).data, ElementsAre(1099511627776.0f, 7));
  Tensor flags = Read(Bytes(kNumpyBool));
  EXPECT_THAT(flags.shape, ElementsAre(4));
  EXPECT_THAT(flags.data, ElementsAre(1, 0, 1, 1));
}

TEST_F(NumpyFiles, Float16IsConvertedToFloat) {
  EXPECT_THAT(Read(Bytes(kNumpyF2)).data,
              ElementsAre(0.5f, -2.0f, 65504.0f, std::ldexp(1.0f, -24)));
}

TEST_F(NumpyFiles, FormatVersionsTwoAndThree) {
  Tensor v2 = Read(Bytes(kNumpyF4V2));
  EXPECT_THAT(v2.shape, ElementsAre(2, 2));
  EXPECT_THAT(v2.data, ElementsAre(1, -2, 3.5f, 4));
  Tensor v3 = Read(Bytes(kNumpyF4V3));
  EXPECT_THAT(v3.shape, ElementsAre(3));
  EXPECT_THAT(v3.data, ElementsAre(7, 8, 9));
}

TEST_F(NumpyFiles, ScalarAndEmptyArrays) {
  Tensor scalar = Read(Bytes(kNumpyF4Scalar));
  EXPECT_THAT(scalar.shape, IsEmpty());
  EXPECT_EQ(scalar.NumElements(), 1);
  EXPECT_THAT(scalar.data, ElementsAre(2.5f));
  Tensor empty = Read(Bytes(kNumpyF4Empty));
  EXPECT_THAT(empty.shape, ElementsAre(2, 0, 3));
  EXPECT_EQ(empty.NumElements(), 0);
  EXPECT_THAT(empty.data, IsEmpty());
}

TEST_F(NumpyFiles, HeadersNumpyDoesNotWriteButPythonReads) {
  // Double quotes, no trailing comma, no padding, Python 2's long integers,
  // and bytes after the data (ignored, as numpy.load does).
  Tensor tensor = Read(NpyWithHeader(
      R"({"shape": (2L,), "fortran_order": False, "descr": "<f4"})",
      std::string("\x00\x00\x80\x3f\x00\x00\x00\x40trailing", 16)));
  EXPECT_THAT(tensor.shape, ElementsAre(2));
  EXPECT_THAT(tensor.data, ElementsAre(1, 2));
  // A version 2.0 header written by hand.
  Tensor v2 = Read(NpyWithHeader(
      "{'descr': '|u1', 'fortran_order': False, 'shape': (1, 1), }\n",
      std::string(1, '\x05'), /*major=*/2));
  EXPECT_THAT(v2.shape, ElementsAre(1, 1));
  EXPECT_THAT(v2.data, ElementsAre(5));
}

// --- .npy errors ---------------------------------------------------------

TEST_F(NumpyFiles, MissingFile) {
  absl::StatusOr<Tensor> tensor = ReadNpy(dir_ + "/absent.npy");
  EXPECT_EQ(tensor.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(tensor.status().message(), HasSubstr("absent.npy"));
  EXPECT_THAT(tensor.status().message(), HasSubstr("no such file"));
}

TEST_F(NumpyFiles, NotAnNpyFile) {
  EXPECT_THAT(ReadError("hello, world"),
              HasSubstr("not a NumPy .npy file: it does not start with the "
                        "magic bytes"));
  EXPECT_THAT(ReadError(""), HasSubstr("not a NumPy .npy file"));
  EXPECT_THAT(ReadError(std::string("PK\x03\x04rest", 8)),
              HasSubstr("zip archive (an .npz?)"));
}

TEST_F(NumpyFiles, UnsupportedDtypeIsNamedWithTheSupportedOnes) {
  std::string error = ReadError(Bytes(kNumpyComplex));
  EXPECT_THAT(error, HasSubstr("dtype '<c8' is not supported"));
  EXPECT_THAT(error, HasSubstr("supported: '<f4', '<f8'"));
  EXPECT_THAT(error, HasSubstr("'|b1'"));
  EXPECT_THAT(ReadError(NpyWithHeader(
                  "{'descr': '<U3', 'fortran_order': False, 'shape': (1,)}",
                  std::string(12, 'a'))),
              HasSubstr("dtype '<U3' is not supported"));
  EXPECT_THAT(ReadError(Bytes(kNumpyStructured)),
              HasSubstr("structured dtypes (records with fields) are not "
                        "supported"));
}

TEST_F(NumpyFiles, FortranOrder) {
  EXPECT_THAT(ReadError(Bytes(kNumpyFortran)),
              HasSubstr("Fortran (column-major) order, which is not "
                        "supported"));
}

TEST_F(NumpyFiles, BigEndian) {
  EXPECT_THAT(ReadError(Bytes(kNumpyBigEndian)),
              HasSubstr("dtype '>f4' is big-endian, which is not supported"));
}

TEST_F(NumpyFiles, TruncatedData) {
  const std::string bytes = Bytes(kNumpyF4Matrix);
  EXPECT_THAT(ReadError(bytes.substr(0, bytes.size() - 4)),
              HasSubstr("truncated .npy data: shape (2, 3) of '<f4' needs 24 "
                        "bytes but only 20 are present"));
}

TEST_F(NumpyFiles, TruncatedHeader) {
  const std::string bytes = Bytes(kNumpyF4Matrix);
  EXPECT_THAT(ReadError(bytes.substr(0, 50)),
              HasSubstr("the header should be 118 bytes but only 40 follow"));
  EXPECT_THAT(ReadError(bytes.substr(0, 9)),
              HasSubstr("ends inside the header length"));
  EXPECT_THAT(ReadError(bytes.substr(0, 7)),
              HasSubstr("ends before the format version"));
}

TEST_F(NumpyFiles, UnsupportedVersion) {
  std::string bytes = Bytes(kNumpyF4Matrix);
  bytes[6] = 4;
  EXPECT_THAT(ReadError(bytes),
              HasSubstr("unsupported .npy format version 4.0 (expected 1.0, "
                        "2.0 or 3.0)"));
}

TEST_F(NumpyFiles, MalformedHeaders) {
  struct Case {
    std::string header;
    std::string problem;
  };
  const Case cases[] = {
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3 }",
       "expected ',' or ')' at offset 56"},
      {"{'descr': '<f4', 'fortran_order': False}", "key 'shape' is missing"},
      {"{'fortran_order': False, 'shape': ()}", "key 'descr' is missing"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (), 'x': 1}",
       "unexpected key 'x'"},
      {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, "
       "'shape': ()}",
       "key 'descr' appears twice"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': [2, 3]}",
       "'shape' is a list, not a tuple"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2, 'a')}",
       "'shape' holds a string, not only integers"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3)}",
       "bad 'shape' (-1, 3): dimension -1 is negative"},
      {"{'descr': '<f4', 'fortran_order': False, "
       "'shape': (4294967296, 4294967296)}",
       "bad 'shape' (4294967296, 4294967296): the number of elements "
       "overflows 64 bits"},
      {"{'descr': '<f4', 'fortran_order': False, "
       "'shape': (99999999999999999999,)}",
       "integer too large"},
      {"{'descr': '<f4', 'fortran_order': 0, 'shape': ()}",
       "'fortran_order' is an integer, not True or False"},
      {"{'descr': 4, 'fortran_order': False, 'shape': ()}",
       "'descr' is an integer, not a string"},
      {"{'descr': '<f4, 'fortran_order': False, 'shape': ()}",
       "expected ',' or '}'"},
      {"{'descr': '<f4', 'fortran_order': Flase, 'shape': ()}",
       "unexpected 'Flase'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': ()} extra",
       "unexpected text after the dict"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (",
       "unexpected end of the header"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': ()",
       "expected ',' or '}'"},
      {"['descr', '<f4']", "it is a list"},
      {std::string(100, '(') + std::string(100, ')'), "nesting too deep"},
      {"{'descr': '<f4", "unterminated string"},
      {"", "unexpected end of the header"},
  };
  for (const Case &c : cases) {
    const std::string error = ReadError(NpyWithHeader(c.header, ""));
    EXPECT_THAT(error, HasSubstr("malformed .npy header: " + c.problem))
        << c.header;
    EXPECT_THAT(error, HasSubstr("expected a dict like {'descr': '<f4'"));
  }
}

// --- Labels --------------------------------------------------------------

TEST_F(NumpyFiles, LabelsOfEveryIntegerType) {
  absl::StatusOr<std::vector<int64_t>> labels =
      ReadNpyLabels(Write(Bytes(kNumpyI8Labels)));
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_THAT(*labels, ElementsAre(0, 3, 1, 9, 2));
  labels = ReadNpyLabels(Write(Bytes(kNumpyI1)));
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_THAT(*labels, ElementsAre(-128, 0, 127));
  labels = ReadNpyLabels(Write(Bytes(kNumpyU8)));
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_THAT(*labels, ElementsAre(int64_t{1} << 40, 7));
  labels = ReadNpyLabels(Write(Bytes(kNumpyBool)));
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_THAT(*labels, ElementsAre(1, 0, 1, 1));
}

TEST_F(NumpyFiles, LabelsFromWholeFloats) {
  absl::StatusOr<std::vector<int64_t>> labels =
      ReadNpyLabels(Write(Bytes(kNumpyF4Labels)));
  ASSERT_TRUE(labels.ok()) << labels.status();
  EXPECT_THAT(*labels, ElementsAre(1, 0, 2));
}

TEST_F(NumpyFiles, LabelErrors) {
  absl::StatusOr<std::vector<int64_t>> labels =
      ReadNpyLabels(Write(Bytes(kNumpyF8NonIntegral)));
  EXPECT_EQ(labels.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(labels.status().message(),
              HasSubstr("in.npy: label 1 is 0.5 in a '<f8' array; labels "
                        "must be whole numbers"));
  labels = ReadNpyLabels(Write(Bytes(kNumpyI4Matrix)));
  EXPECT_THAT(labels.status().message(),
              HasSubstr("in.npy: labels must be a 1-D array, but the shape "
                        "is (1, 2)"));
  labels = ReadNpyLabels(Write(std::string(
      NpyWithHeader("{'descr': '<u8', 'fortran_order': False, 'shape': (1,)}",
                    std::string(8, '\xff')))));
  EXPECT_THAT(labels.status().message(),
              HasSubstr("label 0 is 18446744073709551615, too large"));
  labels = ReadNpyLabels(Write(std::string(
      NpyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}",
                    std::string("\x00\x00\xc0\x7f", 4)))));
  EXPECT_THAT(labels.status().message(), HasSubstr("label 0 is nan"));
  labels = ReadNpyLabels(dir_ + "/absent.npy");
  EXPECT_EQ(labels.status().code(), absl::StatusCode::kNotFound);
  labels = ReadNpyLabels(Write(Bytes(kNumpyBigEndian)));
  EXPECT_THAT(labels.status().message(), HasSubstr("big-endian"));
}

// --- ONNX TensorProto ----------------------------------------------------

constexpr const char *kReluInput = "/usr/include/onnx/backend/test/data/node/"
                                   "test_relu/test_data_set_0/input_0.pb";

TEST(ReadTensorProto, OnnxTestSuiteFile) {
  if (!fs::exists(kReluInput))
    GTEST_SKIP() << kReluInput << " is missing (ONNX's test data)";
  // Its data is in raw_data; the expected values are what
  // onnx.numpy_helper.to_array reads.
  for (absl::StatusOr<Tensor> tensor :
       {ReadTensorProto(kReluInput), ReadTensor(kReluInput)}) {
    ASSERT_TRUE(tensor.ok()) << tensor.status();
    EXPECT_THAT(tensor->shape, ElementsAre(3, 4, 5));
    ASSERT_EQ(tensor->data.size(), 60u);
    EXPECT_EQ(tensor->data[0], 1.764052391052246f);
    EXPECT_EQ(tensor->data[1], 0.40015721321105957f);
    EXPECT_EQ(tensor->data[2], 0.978738009929657f);
    EXPECT_EQ(tensor->data[7], -0.15135720372200012f);
    EXPECT_EQ(tensor->data[59], -0.3627411723136902f);
  }
}

class OnnxFiles : public testing::Test {
protected:
  void SetUp() override { dir_ = FreshDir(); }
  absl::StatusOr<Tensor> Read(const std::string &bytes) {
    return ReadTensorProto(WriteBytes(dir_, "t.pb", bytes));
  }
  std::string ReadError(const std::string &bytes) {
    absl::StatusOr<Tensor> tensor = Read(bytes);
    EXPECT_FALSE(tensor.ok());
    if (tensor.ok())
      return "";
    EXPECT_EQ(tensor.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(tensor.status().message(), HasSubstr("t.pb: "));
    return std::string(tensor.status().message());
  }
  std::string dir_;
};

TEST_F(OnnxFiles, TypedFields) {
  absl::StatusOr<Tensor> tensor = Read(Bytes(kOnnxFloatData));
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_THAT(tensor->shape, ElementsAre(2, 2));
  EXPECT_THAT(tensor->data, ElementsAre(1, -2, 3.5f, 0.25f));
  tensor = Read(Bytes(kOnnxDoubleData));
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_THAT(tensor->shape, ElementsAre(3));
  EXPECT_THAT(tensor->data, ElementsAre(0.5f, static_cast<float>(-1e-3),
                                        static_cast<float>(1e30)));
  tensor = Read(Bytes(kOnnxInt64Data));
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_THAT(tensor->data, ElementsAre(-5, 1099511627776.0f));
  tensor = Read(Bytes(kOnnxInt32Data));
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_THAT(tensor->shape, ElementsAre(1, 2));
  EXPECT_THAT(tensor->data, ElementsAre(-7, 100000));
}

TEST_F(OnnxFiles, RawData) {
  absl::StatusOr<Tensor> tensor = Read(Bytes(kOnnxRawDouble));
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_THAT(tensor->shape, ElementsAre(1, 2));
  EXPECT_THAT(tensor->data, ElementsAre(0.125f, -4.0f));
  tensor = Read(Bytes(kOnnxRawInt32));
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_THAT(tensor->data, ElementsAre(-3, 2147483647.0f));
  tensor = Read(Bytes(kOnnxScalar));
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_THAT(tensor->shape, IsEmpty());
  EXPECT_THAT(tensor->data, ElementsAre(3.0f));
}

TEST_F(OnnxFiles, Errors) {
  EXPECT_THAT(ReadError(Bytes(kOnnxExternal)),
              HasSubstr("tensor 'big' keeps its data in 'weights.bin' "
                        "(external data), which is not supported"));
  EXPECT_THAT(ReadError(Bytes(kOnnxUint8)),
              HasSubstr("tensor 'u' has data type UINT8 (2), which is not "
                        "supported; supported: FLOAT, DOUBLE, INT32, INT64"));
  EXPECT_THAT(ReadError(Bytes(kOnnxShortFloatData)),
              HasSubstr("tensor 'short' has dims [3] (3 elements) but "
                        "float_data holds 2 values"));
  EXPECT_THAT(ReadError(Bytes(kOnnxShortRawData)),
              HasSubstr("tensor 'shortraw' has dims [2, 2] (4 elements of "
                        "FLOAT (1), 4 bytes each) but raw_data holds 12 "
                        "bytes"));
  EXPECT_THAT(ReadError(Bytes(kOnnxBothFields)),
              HasSubstr("tensor 'both' has data in raw_data and float_data"));
  EXPECT_THAT(ReadError(Bytes(kOnnxWrongField)),
              HasSubstr("tensor 'wrong' of type FLOAT (1) has its data in "
                        "int64_data; expected float_data or raw_data"));
  // Wire type 7 does not exist: no protobuf message parses.
  EXPECT_THAT(ReadError("\x0f\x01"), HasSubstr("not an ONNX TensorProto"));
  EXPECT_THAT(ReadError(""), HasSubstr("UNDEFINED (0)"));
  absl::StatusOr<Tensor> missing = ReadTensorProto(dir_ + "/absent.pb");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("absent.pb"));
}

TEST(ReadTensor, ChoosesTheReaderByExtension) {
  const std::string dir = FreshDir();
  absl::StatusOr<Tensor> npy =
      ReadTensor(WriteBytes(dir, "x.NPY", Bytes(kNumpyF4Matrix)));
  ASSERT_TRUE(npy.ok()) << npy.status();
  EXPECT_THAT(npy->data, ElementsAre(1, 2, 3, 4, 5, 6));
  absl::StatusOr<Tensor> pb =
      ReadTensor(WriteBytes(dir, "x.pb", Bytes(kOnnxFloatData)));
  ASSERT_TRUE(pb.ok()) << pb.status();
  EXPECT_THAT(pb->data, ElementsAre(1, -2, 3.5f, 0.25f));
  absl::StatusOr<Tensor> other =
      ReadTensor(WriteBytes(dir, "x.txt", Bytes(kNumpyF4Matrix)));
  EXPECT_EQ(other.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(other.status().message(), HasSubstr("x.txt"));
  EXPECT_THAT(other.status().message(),
              HasSubstr("expected .npy (NumPy) or .pb (ONNX TensorProto)"));
}

// --- Files ---------------------------------------------------------------

TEST(WriteFileAtomically, WritesAndReplacesLeavingNoTemporary) {
  const std::string dir = FreshDir();
  const std::string path = dir + "/out.bin";
  const std::string first("binary\0data\n", 12);
  ASSERT_TRUE(WriteFileAtomically(path, first).ok());
  EXPECT_EQ(ReadFile(path).value(), first);
  ASSERT_TRUE(WriteFileAtomically(path, "second").ok());
  EXPECT_EQ(ReadFile(path).value(), "second");
  ASSERT_TRUE(WriteFileAtomically(path, "").ok());
  EXPECT_EQ(ReadFile(path).value(), "");
  EXPECT_THAT(FilesIn(dir), ElementsAre("out.bin"));
}

TEST(WriteFileAtomically, MissingDirectoryIsAnError) {
  const std::string dir = FreshDir();
  const std::string path = dir + "/no-such-dir/out.npy";
  absl::Status status = WriteFileAtomically(path, "data");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(),
              HasSubstr("cannot write '" + path + "': directory '" + dir +
                        "/no-such-dir' does not exist"));
  EXPECT_THAT(FilesIn(dir), IsEmpty());
  status = WriteNpy(path, Tensor{{1}, {1}});
  EXPECT_THAT(status.message(), HasSubstr("does not exist"));
}

TEST(WriteFileAtomically, FailedRenameKeepsTheTargetAndRemovesTheTemporary) {
  // A directory in the way of the file: the rename fails after the data is
  // written, and the directory and its contents must survive.
  const std::string dir = FreshDir();
  const std::string path = dir + "/target";
  fs::create_directory(path);
  ASSERT_TRUE(WriteFileAtomically(path + "/keep", "kept").ok());
  absl::Status status = WriteFileAtomically(path, "data");
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("cannot write '" + path + "'"));
  EXPECT_THAT(status.message(), HasSubstr("renaming"));
  EXPECT_THAT(FilesIn(dir), ElementsAre("target"));
  EXPECT_EQ(ReadFile(path + "/keep").value(), "kept");
}

// Several outputs: nothing changes until Commit, then all do; the old set
// survives a run that stops before Commit, however it stops.
class OutputFilesTest : public ::testing::TestWithParam<bool> {
protected:
  void SetUp() override {
    internal::AllowUnnamedTemporaries(GetParam());
    dir_ = FreshDir();
    ASSERT_TRUE(WriteFileAtomically(dir_ + "/a", "old a").ok());
    ASSERT_TRUE(WriteFileAtomically(dir_ + "/b", "old b").ok());
  }
  void TearDown() override { internal::AllowUnnamedTemporaries(true); }
  void ExpectOldSet() {
    EXPECT_EQ(ReadFile(dir_ + "/a").value(), "old a");
    EXPECT_EQ(ReadFile(dir_ + "/b").value(), "old b");
    EXPECT_THAT(FilesIn(dir_), ElementsAre("a", "b"));
  }
  std::string dir_;
};

TEST_P(OutputFilesTest, PreparedFilesAppearOnlyOnCommit) {
  OutputFiles outputs;
  ASSERT_TRUE(outputs.Prepare(dir_ + "/a", "new a").ok());
  ASSERT_TRUE(outputs.Prepare(dir_ + "/b", "new b").ok());
  ASSERT_TRUE(outputs.Prepare(dir_ + "/c", "new c").ok());
  EXPECT_EQ(ReadFile(dir_ + "/a").value(), "old a");
  EXPECT_EQ(ReadFile(dir_ + "/b").value(), "old b");
  if (GetParam()) // Unnamed: not even a temporary is in the directory.
    EXPECT_THAT(FilesIn(dir_), ElementsAre("a", "b"));
  ASSERT_TRUE(outputs.Commit().ok());
  EXPECT_EQ(ReadFile(dir_ + "/a").value(), "new a");
  EXPECT_EQ(ReadFile(dir_ + "/b").value(), "new b");
  EXPECT_EQ(ReadFile(dir_ + "/c").value(), "new c");
  EXPECT_THAT(FilesIn(dir_), ElementsAre("a", "b", "c"));
}

TEST_P(OutputFilesTest, AFailedRunKeepsTheOldSet) {
  {
    OutputFiles outputs;
    ASSERT_TRUE(outputs.Prepare(dir_ + "/a", "new a").ok());
    absl::Status twice = outputs.Prepare(dir_ + "/a", "again");
    EXPECT_THAT(twice.message(), HasSubstr("twice in one run"));
    absl::Status missing = outputs.Prepare(dir_ + "/none/b", "new b");
    EXPECT_THAT(missing.message(), HasSubstr("does not exist"));
    // Destroyed without Commit.
  }
  ExpectOldSet();
}

TEST_P(OutputFilesTest, KilledBeforeCommitLeavesNothing) {
  // SIGTERM: the handler removes named temporaries. SIGKILL: only unnamed
  // ones are gone by construction.
  for (int signal : {SIGTERM, SIGKILL}) {
    if (signal == SIGKILL && !GetParam())
      continue;
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      OutputFiles outputs;
      if (!outputs.Prepare(dir_ + "/a", std::string(1 << 20, 'x')).ok() ||
          !outputs.Prepare(dir_ + "/b", "new b").ok())
        ::_exit(3);
      ::raise(signal);
      ::_exit(4);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << status;
    EXPECT_EQ(WTERMSIG(status), signal);
    ExpectOldSet();
  }
}

INSTANTIATE_TEST_SUITE_P(UnnamedAndNamed, OutputFilesTest,
                         ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool> &info) {
                           return info.param ? "OTmpfile" : "NamedTemporary";
                         });

TEST(WriteFileAtomically, PathWithoutAFileName) {
  absl::Status status = WriteFileAtomically(FreshDir() + "/", "data");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("expected a file name"));
}

TEST(ReadFile, Errors) {
  const std::string dir = FreshDir();
  absl::StatusOr<std::string> missing = ReadFile(dir + "/absent");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr(dir + "/absent"));
  absl::StatusOr<std::string> directory = ReadFile(dir);
  EXPECT_FALSE(directory.ok());
  EXPECT_THAT(directory.status().message(), HasSubstr("is a directory"));
}

} // namespace
} // namespace hafnia
