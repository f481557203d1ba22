//===- ConstantFolding.cpp - Evaluate ONNX nodes on constants -------------===//
//
// Tensors are evaluated in int64 (integer and boolean types) or double (FLOAT
// and DOUBLE; FLOAT results are rounded to float after each operation, which
// for +, -, *, / and sqrt gives exactly float32 arithmetic). Opset-17
// semantics: the model has been converted before import.
//
//===----------------------------------------------------------------------===//

#include "hafnia/Import/ConstantFolding.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <set>

namespace hafnia {
namespace {

using Shape = std::vector<int64_t>;
using onnx::TensorProto;

bool isRealType(int32_t type) {
  return type == TensorProto::FLOAT || type == TensorProto::DOUBLE;
}

bool isIntegerType(int32_t type) {
  switch (type) {
  case TensorProto::INT64:
  case TensorProto::INT32:
  case TensorProto::INT16:
  case TensorProto::INT8:
  case TensorProto::UINT8:
  case TensorProto::UINT16:
  case TensorProto::UINT32:
  case TensorProto::UINT64:
  case TensorProto::BOOL:
    return true;
  default:
    return false;
  }
}

/// A constant being evaluated: integer types in `ints`, reals in `reals`.
struct Value {
  int32_t type = TensorProto::INT64;
  Shape shape;
  std::vector<int64_t> ints;
  std::vector<double> reals;

  bool real() const { return isRealType(type); }
  int64_t size() const {
    return static_cast<int64_t>(real() ? reals.size() : ints.size());
  }
  double asReal(int64_t i) const {
    return real() ? reals[i] : static_cast<double>(ints[i]);
  }
  int64_t asInt(int64_t i) const {
    return real() ? static_cast<int64_t>(reals[i]) : ints[i];
  }
  void resize(int64_t count) {
    if (real())
      reals.assign(count, 0.0);
    else
      ints.assign(count, 0);
  }
  /// Copies element `from` of `source` (of the same type) to element `to`.
  void copy(int64_t to, const Value &source, int64_t from) {
    if (real())
      reals[to] = source.reals[from];
    else
      ints[to] = source.ints[from];
  }
};

int64_t numElements(const Shape &shape) {
  int64_t count = 1;
  for (int64_t dim : shape)
    count *= dim;
  return count;
}

/// Steps `position` to the next element of `shape` in row-major order.
void advance(Shape &position, const Shape &shape) {
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    if (++position[d] < shape[d])
      return;
    position[d] = 0;
  }
}

Shape strides(const Shape &shape) {
  Shape result(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    result[i] = result[i + 1] * shape[i + 1];
  return result;
}

/// Rounds to the element type: FLOAT to float, narrow integers wrap, BOOL is
/// 0 or 1.
void normalize(Value &value) {
  if (value.type == TensorProto::FLOAT)
    for (double &v : value.reals)
      v = static_cast<float>(v);
  for (int64_t &v : value.ints) {
    switch (value.type) {
    case TensorProto::INT32:
      v = static_cast<int32_t>(v);
      break;
    case TensorProto::INT16:
      v = static_cast<int16_t>(v);
      break;
    case TensorProto::INT8:
      v = static_cast<int8_t>(v);
      break;
    case TensorProto::UINT8:
      v = static_cast<uint8_t>(v);
      break;
    case TensorProto::UINT16:
      v = static_cast<uint16_t>(v);
      break;
    case TensorProto::UINT32:
      v = static_cast<uint32_t>(v);
      break;
    case TensorProto::BOOL:
      v = v != 0;
      break;
    default:
      break;
    }
  }
}

template <typename T>
bool readRaw(const std::string &raw, int64_t count, std::vector<T> &out) {
  if (static_cast<int64_t>(raw.size()) !=
      count * static_cast<int64_t>(sizeof(T)))
    return false;
  out.resize(count);
  if (count)
    std::memcpy(out.data(), raw.data(), raw.size());
  return true;
}

/// Reads `count` elements of type T from `raw` and widens them into `out`
/// (left empty when the size is wrong).
template <typename T, typename U>
bool readRawWidened(const std::string &raw, int64_t count,
                    std::vector<U> &out) {
  std::vector<T> data;
  bool ok = readRaw(raw, count, data);
  out.assign(data.begin(), data.end());
  return ok;
}

std::optional<Value> decode(const TensorProto &tensor) {
  if (tensor.data_location() == TensorProto::EXTERNAL)
    return std::nullopt;
  Value value;
  value.type = tensor.data_type();
  value.shape.assign(tensor.dims().begin(), tensor.dims().end());
  int64_t count = numElements(value.shape);
  bool raw = tensor.has_raw_data();
  const std::string &bytes = tensor.raw_data();
  bool ok = true;
  switch (value.type) {
  case TensorProto::FLOAT: {
    if (raw)
      ok = readRawWidened<float>(bytes, count, value.reals);
    else
      value.reals.assign(tensor.float_data().begin(),
                         tensor.float_data().end());
    break;
  }
  case TensorProto::DOUBLE: {
    if (raw)
      ok = readRaw(bytes, count, value.reals);
    else
      value.reals.assign(tensor.double_data().begin(),
                         tensor.double_data().end());
    break;
  }
  case TensorProto::INT64: {
    if (raw)
      ok = readRaw(bytes, count, value.ints);
    else
      value.ints.assign(tensor.int64_data().begin(), tensor.int64_data().end());
    break;
  }
  case TensorProto::UINT32:
  case TensorProto::UINT64: {
    if (raw && value.type == TensorProto::UINT32) {
      ok = readRawWidened<uint32_t>(bytes, count, value.ints);
    } else if (raw) {
      ok = readRawWidened<uint64_t>(bytes, count, value.ints);
    } else {
      value.ints.assign(tensor.uint64_data().begin(),
                        tensor.uint64_data().end());
    }
    break;
  }
  case TensorProto::INT32:
  case TensorProto::INT16:
  case TensorProto::INT8:
  case TensorProto::UINT8:
  case TensorProto::UINT16:
  case TensorProto::BOOL: {
    if (!raw) {
      value.ints.assign(tensor.int32_data().begin(), tensor.int32_data().end());
      break;
    }
    if (value.type == TensorProto::INT32) {
      ok = readRawWidened<int32_t>(bytes, count, value.ints);
    } else if (value.type == TensorProto::INT16) {
      ok = readRawWidened<int16_t>(bytes, count, value.ints);
    } else if (value.type == TensorProto::UINT16) {
      ok = readRawWidened<uint16_t>(bytes, count, value.ints);
    } else if (value.type == TensorProto::INT8) {
      ok = readRawWidened<int8_t>(bytes, count, value.ints);
    } else {
      ok = readRawWidened<uint8_t>(bytes, count, value.ints);
    }
    break;
  }
  default:
    return std::nullopt;
  }
  if (!ok || value.size() != count)
    return std::nullopt;
  normalize(value);
  return value;
}

std::unique_ptr<TensorProto> encode(const Value &value,
                                    const std::string &name) {
  auto tensor = std::make_unique<TensorProto>();
  tensor->set_name(name);
  tensor->set_data_type(value.type);
  for (int64_t dim : value.shape)
    tensor->add_dims(dim);
  switch (value.type) {
  case TensorProto::FLOAT:
    for (double v : value.reals)
      tensor->add_float_data(static_cast<float>(v));
    break;
  case TensorProto::DOUBLE:
    for (double v : value.reals)
      tensor->add_double_data(v);
    break;
  case TensorProto::INT64:
    for (int64_t v : value.ints)
      tensor->add_int64_data(v);
    break;
  case TensorProto::UINT32:
  case TensorProto::UINT64:
    for (int64_t v : value.ints)
      tensor->add_uint64_data(static_cast<uint64_t>(v));
    break;
  default:
    for (int64_t v : value.ints)
      tensor->add_int32_data(static_cast<int32_t>(v));
    break;
  }
  return tensor;
}

/// Converts to another element type (ONNX Cast: reals to integers truncate).
Value convert(const Value &in, int32_t type) {
  Value out;
  out.type = type;
  out.shape = in.shape;
  if (isRealType(type)) {
    out.reals.resize(in.size());
    for (int64_t i = 0; i < in.size(); ++i)
      out.reals[i] = in.asReal(i);
  } else {
    out.ints.resize(in.size());
    for (int64_t i = 0; i < in.size(); ++i) {
      if (type == TensorProto::BOOL)
        out.ints[i] = in.real() ? in.reals[i] != 0.0 : in.ints[i] != 0;
      else if (in.real() && !std::isfinite(in.reals[i]))
        out.ints[i] = 0;
      else
        out.ints[i] = in.asInt(i);
    }
  }
  normalize(out);
  return out;
}

const onnx::AttributeProto *findAttr(const onnx::NodeProto &node,
                                     const char *name) {
  for (const onnx::AttributeProto &attr : node.attribute())
    if (attr.name() == name)
      return &attr;
  return nullptr;
}

int64_t intAttr(const onnx::NodeProto &node, const char *name, int64_t def) {
  const onnx::AttributeProto *attr = findAttr(node, name);
  return attr ? attr->i() : def;
}

/// The evaluation of one node.
class Evaluator {
public:
  Evaluator(const onnx::NodeProto &node, const std::vector<Value> &inputs,
            const std::vector<bool> &present, const Shape *inputShape)
      : node(node), in(inputs), present(present), inputShape(inputShape) {}

  std::optional<std::string> run(std::vector<Value> &outputs);

private:
  const Value &input(size_t i) const { return in[i]; }
  bool has(size_t i) const { return i < present.size() && present[i]; }

  std::optional<std::string> axis(int64_t &value, int64_t rank,
                                  bool inclusive = false) const {
    int64_t limit = inclusive ? rank + 1 : rank;
    if (value < -limit || value >= limit)
      return "axis " + std::to_string(value) + " is out of range for rank " +
             std::to_string(rank);
    if (value < 0)
      value += limit;
    return std::nullopt;
  }

  static std::optional<std::string> broadcast(const std::vector<Shape> &shapes,
                                              Shape &result) {
    size_t rank = 0;
    for (const Shape &shape : shapes)
      rank = std::max(rank, shape.size());
    result.assign(rank, 1);
    for (const Shape &shape : shapes)
      for (size_t i = 0; i < shape.size(); ++i) {
        int64_t &dim = result[rank - shape.size() + i];
        int64_t other = shape[i];
        if (dim == 1)
          dim = other;
        else if (other != 1 && other != dim)
          return std::string("the operand shapes do not broadcast");
      }
    return std::nullopt;
  }

  /// Index into `shape` (broadcast to `result`) of every result element.
  static std::vector<int64_t> broadcastIndex(const Shape &shape,
                                             const Shape &result) {
    Shape own = strides(shape), step(result.size(), 0);
    size_t offset = result.size() - shape.size();
    for (size_t i = 0; i < shape.size(); ++i)
      if (shape[i] != 1)
        step[offset + i] = own[i];
    int64_t count = numElements(result);
    std::vector<int64_t> index(count);
    Shape position(result.size(), 0);
    int64_t at = 0;
    for (int64_t e = 0; e < count; ++e) {
      index[e] = at;
      for (int64_t d = static_cast<int64_t>(result.size()) - 1; d >= 0; --d) {
        if (++position[d] < result[d]) {
          at += step[d];
          break;
        }
        at -= step[d] * (result[d] - 1);
        position[d] = 0;
      }
    }
    return index;
  }

  std::optional<std::string> elementwise(std::vector<Value> &outputs);
  std::optional<std::string> unary(std::vector<Value> &outputs);
  std::optional<std::string> gather(Value &out);
  std::optional<std::string> slice(Value &out);
  std::optional<std::string> reshape(Value &out);
  std::optional<std::string> transpose(Value &out);
  std::optional<std::string> concat(Value &out);

  const onnx::NodeProto &node;
  const std::vector<Value> &in;
  const std::vector<bool> &present;
  const Shape *inputShape;
};

std::optional<std::string> Evaluator::elementwise(std::vector<Value> &outputs) {
  const std::string &op = node.op_type();
  std::vector<Shape> shapes;
  for (const Value &value : in)
    shapes.push_back(value.shape);
  Shape result;
  if (auto error = broadcast(shapes, result))
    return error;
  std::vector<std::vector<int64_t>> index;
  for (const Value &value : in)
    index.push_back(broadcastIndex(value.shape, result));
  int64_t count = numElements(result);
  static const std::set<std::string> comparisons = {
      "Equal",          "Less", "Greater", "LessOrEqual",
      "GreaterOrEqual", "And",  "Or",      "Xor"};
  Value out;
  if (op == "Where") {
    out.type = in[1].type;
    if (in[2].type != out.type)
      return std::string("the two branches have different element types");
  } else {
    out.type = comparisons.count(op) ? TensorProto::BOOL : in[0].type;
    for (const Value &value : in)
      if (value.type != in[0].type)
        return std::string("the operands have different element types");
  }
  out.shape = result;
  out.resize(count);
  bool real = in.back().real();
  for (int64_t e = 0; e < count; ++e) {
    if (op == "Where") {
      const Value &chosen = in[0].asInt(index[0][e]) ? in[1] : in[2];
      out.copy(e, chosen, index[in[0].asInt(index[0][e]) ? 1 : 2][e]);
      continue;
    }
    if (op == "Max" || op == "Min" || op == "Sum" || op == "Mean") {
      double accReal = in[0].asReal(index[0][e]);
      int64_t accInt = in[0].asInt(index[0][e]);
      for (size_t k = 1; k < in.size(); ++k) {
        double r = in[k].asReal(index[k][e]);
        int64_t i = in[k].asInt(index[k][e]);
        if (op == "Max") {
          accReal = std::max(accReal, r);
          accInt = std::max(accInt, i);
        } else if (op == "Min") {
          accReal = std::min(accReal, r);
          accInt = std::min(accInt, i);
        } else {
          accReal += r;
          accInt += i;
        }
      }
      if (op == "Mean") {
        accReal /= static_cast<double>(in.size());
        accInt /= static_cast<int64_t>(in.size());
      }
      if (out.real())
        out.reals[e] = accReal;
      else
        out.ints[e] = accInt;
      continue;
    }
    if (real) {
      double a = in[0].reals[index[0][e]], b = in[1].reals[index[1][e]];
      if (in[0].type == TensorProto::FLOAT) {
        // float32 arithmetic, as the runtime would compute it.
        float x = static_cast<float>(a), y = static_cast<float>(b);
        a = x;
        b = y;
      }
      double r = 0;
      if (op == "Add")
        r = a + b;
      else if (op == "Sub")
        r = a - b;
      else if (op == "Mul")
        r = a * b;
      else if (op == "Div")
        r = a / b;
      else if (op == "Pow")
        r = in[0].type == TensorProto::FLOAT
                ? std::pow(static_cast<float>(a), static_cast<float>(b))
                : std::pow(a, b);
      else if (op == "Mod")
        r = std::fmod(a, b);
      else if (op == "Equal")
        r = a == b;
      else if (op == "Less")
        r = a < b;
      else if (op == "Greater")
        r = a > b;
      else if (op == "LessOrEqual")
        r = a <= b;
      else if (op == "GreaterOrEqual")
        r = a >= b;
      else
        return "cannot evaluate " + op + " on real values";
      if (out.real())
        out.reals[e] = r;
      else
        out.ints[e] = r != 0;
      continue;
    }
    int64_t a = in[0].ints[index[0][e]], b = in[1].ints[index[1][e]];
    int64_t r = 0;
    if (op == "Add")
      r = a + b;
    else if (op == "Sub")
      r = a - b;
    else if (op == "Mul")
      r = a * b;
    else if (op == "Div" || op == "Mod") {
      if (b == 0)
        return std::string("divides an integer by zero");
      if (op == "Div") {
        r = a / b;
      } else {
        // ONNX Mod with fmod = 0: the sign of the divisor, as Python's %.
        r = a % b;
        if (intAttr(node, "fmod", 0) == 0 && r != 0 && ((r < 0) != (b < 0)))
          r += b;
      }
    } else if (op == "Pow")
      r = static_cast<int64_t>(std::pow(static_cast<double>(a), b));
    else if (op == "Equal")
      r = a == b;
    else if (op == "Less")
      r = a < b;
    else if (op == "Greater")
      r = a > b;
    else if (op == "LessOrEqual")
      r = a <= b;
    else if (op == "GreaterOrEqual")
      r = a >= b;
    else if (op == "And")
      r = a && b;
    else if (op == "Or")
      r = a || b;
    else if (op == "Xor")
      r = (a != 0) != (b != 0);
    else
      return "cannot evaluate " + op;
    out.ints[e] = r;
  }
  normalize(out);
  outputs.push_back(std::move(out));
  return std::nullopt;
}

std::optional<std::string> Evaluator::unary(std::vector<Value> &outputs) {
  const std::string &op = node.op_type();
  Value out = in[0];
  if (op == "Not") {
    for (int64_t &v : out.ints)
      v = !v;
  } else if (out.real()) {
    for (double &v : out.reals) {
      if (op == "Neg")
        v = -v;
      else if (op == "Abs")
        v = std::fabs(v);
      else if (op == "Floor")
        v = std::floor(v);
      else if (op == "Ceil")
        v = std::ceil(v);
      else if (op == "Sqrt")
        v = out.type == TensorProto::FLOAT ? std::sqrt(static_cast<float>(v))
                                           : std::sqrt(v);
      else if (op == "Reciprocal")
        v = 1.0 / v;
      else if (op == "Relu")
        v = std::max(v, 0.0);
      else if (op == "Sign")
        v = (v > 0) - (v < 0);
      else
        return "cannot evaluate " + op + " on constants";
    }
  } else {
    for (int64_t &v : out.ints) {
      if (op == "Neg")
        v = -v;
      else if (op == "Abs")
        v = v < 0 ? -v : v;
      else if (op == "Floor" || op == "Ceil")
        ;
      else if (op == "Relu")
        v = std::max<int64_t>(v, 0);
      else if (op == "Sign")
        v = (v > 0) - (v < 0);
      else
        return "cannot evaluate " + op + " on integer constants";
    }
  }
  normalize(out);
  outputs.push_back(std::move(out));
  return std::nullopt;
}

std::optional<std::string> Evaluator::gather(Value &out) {
  const Value &data = in[0], &indices = in[1];
  int64_t rank = data.shape.size();
  if (rank == 0)
    return std::string("gathers from a scalar");
  int64_t a = intAttr(node, "axis", 0);
  if (auto error = axis(a, rank))
    return error;
  int64_t dim = data.shape[a];
  out.type = data.type;
  out.shape.assign(data.shape.begin(), data.shape.begin() + a);
  out.shape.insert(out.shape.end(), indices.shape.begin(), indices.shape.end());
  out.shape.insert(out.shape.end(), data.shape.begin() + a + 1,
                   data.shape.end());
  int64_t outer =
      numElements(Shape(data.shape.begin(), data.shape.begin() + a));
  int64_t inner =
      numElements(Shape(data.shape.begin() + a + 1, data.shape.end()));
  out.resize(outer * indices.size() * inner);
  int64_t e = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t k = 0; k < indices.size(); ++k) {
      int64_t index = indices.asInt(k);
      if (index < -dim || index >= dim)
        return "index " + std::to_string(index) + " is out of range for size " +
               std::to_string(dim);
      if (index < 0)
        index += dim;
      for (int64_t i = 0; i < inner; ++i)
        out.copy(e++, data, (o * dim + index) * inner + i);
    }
  return std::nullopt;
}

std::optional<std::string> Evaluator::slice(Value &out) {
  const Value &data = in[0];
  int64_t rank = data.shape.size();
  const Value &starts = in[1], &ends = in[2];
  if (starts.size() != ends.size())
    return std::string("starts and ends differ in length");
  Shape begin(rank, 0), step(rank, 1), size = data.shape;
  for (int64_t k = 0; k < starts.size(); ++k) {
    int64_t a = has(3) ? in[3].asInt(k) : k;
    if (auto error = axis(a, rank))
      return error;
    int64_t s = has(4) ? in[4].asInt(k) : 1;
    if (s == 0)
      return std::string("has a step of 0");
    int64_t dim = data.shape[a];
    int64_t first = starts.asInt(k), last = ends.asInt(k);
    size[a] = resolveSliceAxis(dim, s, first, last);
    begin[a] = first;
    step[a] = s;
  }
  out.type = data.type;
  out.shape = size;
  int64_t count = numElements(size);
  out.resize(count);
  Shape inStrides = strides(data.shape), position(rank, 0);
  for (int64_t e = 0; e < count; ++e) {
    int64_t from = 0;
    for (int64_t d = 0; d < rank; ++d)
      from += (begin[d] + position[d] * step[d]) * inStrides[d];
    out.copy(e, data, from);
    advance(position, size);
  }
  return std::nullopt;
}

std::optional<std::string> Evaluator::reshape(Value &out) {
  const Value &data = in[0];
  Shape target;
  for (int64_t k = 0; k < in[1].size(); ++k)
    target.push_back(in[1].asInt(k));
  bool allowZero = intAttr(node, "allowzero", 0) != 0;
  int64_t known = 1, unknown = -1;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == 0 && !allowZero) {
      if (i >= data.shape.size())
        return std::string("copies a dimension the input does not have");
      target[i] = data.shape[i];
    }
    if (target[i] == -1) {
      if (unknown >= 0)
        return std::string("has more than one -1 in its shape");
      unknown = i;
      continue;
    }
    if (target[i] < 0)
      return std::string("has a negative dimension in its shape");
    known *= target[i];
  }
  if (unknown >= 0)
    target[unknown] = known ? data.size() / known : 0;
  if (numElements(target) != data.size())
    return std::string("changes the number of elements");
  out = data;
  out.shape = target;
  return std::nullopt;
}

std::optional<std::string> Evaluator::transpose(Value &out) {
  const Value &data = in[0];
  int64_t rank = data.shape.size();
  Shape perm(rank);
  const onnx::AttributeProto *attr = findAttr(node, "perm");
  for (int64_t d = 0; d < rank; ++d)
    perm[d] = attr && attr->ints_size() == rank ? attr->ints(d) : rank - 1 - d;
  Shape inStrides = strides(data.shape), position(rank, 0);
  out.type = data.type;
  for (int64_t d = 0; d < rank; ++d) {
    if (perm[d] < 0 || perm[d] >= rank)
      return std::string("has an invalid permutation");
    out.shape.push_back(data.shape[perm[d]]);
  }
  int64_t count = data.size();
  out.resize(count);
  for (int64_t e = 0; e < count; ++e) {
    int64_t from = 0;
    for (int64_t d = 0; d < rank; ++d)
      from += position[d] * inStrides[perm[d]];
    out.copy(e, data, from);
    advance(position, out.shape);
  }
  return std::nullopt;
}

std::optional<std::string> Evaluator::concat(Value &out) {
  int64_t rank = in[0].shape.size();
  int64_t a = intAttr(node, "axis", 0);
  if (auto error = axis(a, rank))
    return error;
  out.type = in[0].type;
  out.shape = in[0].shape;
  out.shape[a] = 0;
  for (const Value &value : in) {
    if (static_cast<int64_t>(value.shape.size()) != rank ||
        value.type != out.type)
      return std::string("concatenates tensors of different ranks or types");
    out.shape[a] += value.shape[a];
  }
  int64_t outer = numElements(Shape(out.shape.begin(), out.shape.begin() + a));
  out.resize(numElements(out.shape));
  int64_t e = 0;
  for (int64_t o = 0; o < outer; ++o)
    for (const Value &value : in) {
      int64_t block = value.size() / std::max<int64_t>(outer, 1);
      for (int64_t i = 0; i < block; ++i)
        out.copy(e++, value, o * block + i);
    }
  return std::nullopt;
}

std::optional<std::string> Evaluator::run(std::vector<Value> &outputs) {
  const std::string &op = node.op_type();
  Value out;
  if (op == "Shape" || op == "Size") {
    const Shape &shape = *inputShape;
    int64_t rank = shape.size();
    if (op == "Size") {
      out.shape = {};
      out.ints = {numElements(shape)};
    } else {
      int64_t start = intAttr(node, "start", 0),
              end = intAttr(node, "end", rank);
      if (start < 0)
        start += rank;
      if (end < 0)
        end += rank;
      start = std::clamp<int64_t>(start, 0, rank);
      end = std::clamp<int64_t>(end, 0, rank);
      out.ints.assign(shape.begin() + start,
                      shape.begin() + std::max(start, end));
      out.shape = {static_cast<int64_t>(out.ints.size())};
    }
  } else if (op == "Identity") {
    out = in[0];
  } else if (op == "Cast") {
    int32_t to = static_cast<int32_t>(intAttr(node, "to", 0));
    if (!isRealType(to) && !isIntegerType(to))
      return "cannot cast to " + std::to_string(to);
    out = convert(in[0], to);
  } else if (op == "CastLike") {
    out = convert(in[0], in[1].type);
  } else if (op == "ConstantOfShape") {
    Shape shape;
    for (int64_t k = 0; k < in[0].size(); ++k)
      shape.push_back(in[0].asInt(k));
    Value fill;
    fill.type = TensorProto::FLOAT;
    fill.reals = {0.0};
    if (const onnx::AttributeProto *value = findAttr(node, "value")) {
      std::optional<Value> decoded = decode(value->t());
      if (!decoded || decoded->size() != 1)
        return std::string("has a value that is not a one-element tensor");
      fill = *decoded;
    }
    for (int64_t dim : shape)
      if (dim < 0)
        return std::string("has a negative dimension");
    out.type = fill.type;
    out.shape = shape;
    out.resize(numElements(shape));
    for (int64_t e = 0; e < out.size(); ++e)
      out.copy(e, fill, 0);
  } else if (op == "QuantizeLinear" || op == "DequantizeLinear") {
    // QDQ weights: y = (x - zero_point) * scale, and x = saturate(round(
    // y / scale) + zero_point) (half to even), with one scale (and zero
    // point) per tensor or per slice of `axis`.
    bool quantize = op == "QuantizeLinear";
    const Value &x = in[0], &scale = in[1];
    int64_t rank = x.shape.size(), along = intAttr(node, "axis", 1);
    if (scale.size() > 1)
      if (auto error = axis(along, rank))
        return error;
    int64_t inner = 1;
    if (scale.size() > 1) {
      if (scale.size() != x.shape[along])
        return std::string("has a scale that is neither one value nor one "
                           "per slice of its axis");
      for (int64_t d = along + 1; d < rank; ++d)
        inner *= x.shape[d];
    }
    auto slice = [&](int64_t e) {
      return scale.size() > 1 ? (e / inner) % scale.size() : 0;
    };
    auto zeroPoint = [&](int64_t e) {
      return has(2) ? in[2].asInt(in[2].size() > 1 ? slice(e) : 0) : 0;
    };
    out.shape = x.shape;
    if (quantize) {
      out.type = has(2) ? in[2].type : TensorProto::UINT8;
      if (out.type != TensorProto::UINT8 && out.type != TensorProto::INT8)
        return std::string("quantizes to a type other than INT8 and UINT8");
      int64_t low = out.type == TensorProto::INT8 ? -128 : 0;
      int64_t high = out.type == TensorProto::INT8 ? 127 : 255;
      for (int64_t e = 0; e < x.size(); ++e) {
        double q = std::nearbyint(static_cast<float>(x.asReal(e)) /
                                  static_cast<float>(scale.asReal(slice(e)))) +
                   zeroPoint(e);
        out.ints.push_back(
            std::clamp<int64_t>(static_cast<int64_t>(q), low, high));
      }
    } else {
      out.type = TensorProto::FLOAT;
      for (int64_t e = 0; e < x.size(); ++e)
        out.reals.push_back(
            static_cast<float>(static_cast<float>(x.asInt(e) - zeroPoint(e)) *
                               static_cast<float>(scale.asReal(slice(e)))));
    }
  } else if (op == "Range") {
    out.type = in[0].type;
    if (out.real()) {
      double start = in[0].reals[0], limit = in[1].reals[0],
             delta = in[2].reals[0];
      if (delta == 0)
        return std::string("has a delta of 0");
      int64_t count = std::max<int64_t>(
          0, static_cast<int64_t>(std::ceil((limit - start) / delta)));
      for (int64_t k = 0; k < count; ++k)
        out.reals.push_back(start + k * delta);
    } else {
      int64_t start = in[0].ints[0], limit = in[1].ints[0],
              delta = in[2].ints[0];
      if (delta == 0)
        return std::string("has a delta of 0");
      for (int64_t v = start; delta > 0 ? v < limit : v > limit; v += delta)
        out.ints.push_back(v);
    }
    out.shape = {out.size()};
    normalize(out);
  } else if (op == "Expand") {
    Shape shape;
    for (int64_t k = 0; k < in[1].size(); ++k)
      shape.push_back(in[1].asInt(k));
    Shape result;
    if (auto error = broadcast({in[0].shape, shape}, result))
      return error;
    std::vector<int64_t> index = broadcastIndex(in[0].shape, result);
    out.type = in[0].type;
    out.shape = result;
    out.resize(index.size());
    for (size_t e = 0; e < index.size(); ++e)
      out.copy(e, in[0], index[e]);
  } else if (op == "Gather") {
    if (auto error = gather(out))
      return error;
  } else if (op == "Slice") {
    if (auto error = slice(out))
      return error;
  } else if (op == "Reshape") {
    if (auto error = reshape(out))
      return error;
  } else if (op == "Flatten") {
    int64_t rank = in[0].shape.size();
    int64_t a = intAttr(node, "axis", 1);
    if (auto error = axis(a, rank, /*inclusive=*/true))
      return error;
    out = in[0];
    int64_t outer =
        numElements(Shape(in[0].shape.begin(), in[0].shape.begin() + a));
    out.shape = {outer, outer ? in[0].size() / outer : 0};
  } else if (op == "Squeeze" || op == "Unsqueeze") {
    out = in[0];
    std::vector<int64_t> axes;
    if (has(1))
      for (int64_t k = 0; k < in[1].size(); ++k)
        axes.push_back(in[1].asInt(k));
    if (op == "Squeeze") {
      int64_t rank = in[0].shape.size();
      std::vector<bool> drop(rank, false);
      for (int64_t a : axes) {
        if (auto error = axis(a, rank))
          return error;
        if (in[0].shape[a] != 1)
          return "cannot squeeze dimension " + std::to_string(a) + " of size " +
                 std::to_string(in[0].shape[a]);
        drop[a] = true;
      }
      out.shape.clear();
      for (int64_t d = 0; d < rank; ++d)
        if (!(axes.empty() ? in[0].shape[d] == 1 : drop[d]))
          out.shape.push_back(in[0].shape[d]);
    } else {
      int64_t rank = in[0].shape.size() + axes.size();
      std::vector<bool> insert(rank, false);
      for (int64_t a : axes) {
        if (auto error = axis(a, rank))
          return error;
        insert[a] = true;
      }
      out.shape.clear();
      size_t next = 0;
      for (int64_t d = 0; d < rank; ++d)
        out.shape.push_back(insert[d] ? 1 : in[0].shape[next++]);
    }
  } else if (op == "Concat") {
    if (auto error = concat(out))
      return error;
  } else if (op == "Transpose") {
    if (auto error = transpose(out))
      return error;
  } else if (op == "Neg" || op == "Abs" || op == "Not" || op == "Floor" ||
             op == "Ceil" || op == "Sqrt" || op == "Reciprocal" ||
             op == "Relu" || op == "Sign") {
    return unary(outputs);
  } else {
    return elementwise(outputs);
  }
  outputs.push_back(std::move(out));
  return std::nullopt;
}

} // namespace

int64_t resolveSliceAxis(int64_t dim, int64_t step, int64_t &start,
                         int64_t &end) {
  // ONNX clamps starts and ends after adding the dimension to negatives.
  if (start < 0)
    start += dim;
  if (end < 0 && end > std::numeric_limits<int64_t>::min() / 2)
    end += dim;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, dim);
    end = std::clamp<int64_t>(end, 0, dim);
    return end > start ? (end - start + step - 1) / step : 0;
  }
  start = std::clamp<int64_t>(start, 0, dim - 1);
  end = std::clamp<int64_t>(end, -1, dim - 1);
  return start > end ? (start - end - step - 1) / -step : 0;
}

bool isFoldOnlyOp(const std::string &opType) {
  static const std::set<std::string> ops = {"And",
                                            "Cast",
                                            "CastLike",
                                            "ConstantOfShape",
                                            "DequantizeLinear",
                                            "QuantizeLinear",
                                            "Equal",
                                            "Expand",
                                            "Greater",
                                            "GreaterOrEqual",
                                            "Less",
                                            "LessOrEqual",
                                            "Mod",
                                            "Not",
                                            "Or",
                                            "Range",
                                            "Shape",
                                            "Size",
                                            "Where",
                                            "Xor"};
  return ops.count(opType) != 0;
}

bool isFoldableOp(const std::string &opType) {
  static const std::set<std::string> ops = {
      "Abs",     "Add",     "Ceil",   "Concat",    "Div",
      "Flatten", "Floor",   "Gather", "Max",       "Mean",
      "Min",     "Mul",     "Neg",    "Pow",       "Reciprocal",
      "Relu",    "Reshape", "Sign",   "Slice",     "Sqrt",
      "Squeeze", "Sub",     "Sum",    "Transpose", "Unsqueeze"};
  return isFoldOnlyOp(opType) || ops.count(opType) != 0;
}

std::optional<std::string>
foldConstantNode(const onnx::NodeProto &node,
                 const std::vector<const onnx::TensorProto *> &inputs,
                 const std::vector<int64_t> *inputShape,
                 std::vector<std::unique_ptr<onnx::TensorProto>> &outputs) {
  bool shapeOnly = node.op_type() == "Shape" || node.op_type() == "Size";
  if (shapeOnly && !inputShape)
    return std::string("the shape of its input is not static");
  std::vector<Value> values;
  std::vector<bool> present;
  if (!shapeOnly)
    for (size_t i = 0; i < inputs.size(); ++i) {
      present.push_back(inputs[i] != nullptr);
      if (!inputs[i]) {
        values.emplace_back();
        continue;
      }
      std::optional<Value> value = decode(*inputs[i]);
      if (!value)
        return "cannot read constant '" + node.input(i) +
               "' (its element type or data)";
      values.push_back(std::move(*value));
    }
  // Variadic operators evaluate only what is present.
  std::vector<Value> operands;
  static const std::set<std::string> variadic = {"Concat", "Max", "Min", "Sum",
                                                 "Mean"};
  if (variadic.count(node.op_type())) {
    for (size_t i = 0; i < values.size(); ++i)
      if (present[i])
        operands.push_back(values[i]);
    values = operands;
    present.assign(values.size(), true);
  }
  std::vector<Value> results;
  Evaluator evaluator(node, values, present, inputShape);
  if (auto error = evaluator.run(results))
    return error;
  if (results.size() < static_cast<size_t>(node.output_size()) &&
      node.output_size() > 1)
    return std::string("has more outputs than can be evaluated");
  for (size_t i = 0;
       i < results.size() && i < static_cast<size_t>(node.output_size()); ++i)
    if (results[i].real())
      for (size_t k = 0; k < results[i].reals.size(); ++k)
        if (double value = results[i].reals[k];
            !std::isfinite(value) ||
            (results[i].type == TensorProto::FLOAT &&
             std::fabs(value) > std::numeric_limits<float>::max()))
          // The inputs are finite (the model guards refuse non-finite
          // constants): the arithmetic made it (0/0, sqrt(-1), overflow).
          return "its result '" + node.output(i) + "' holds " +
                 (std::isnan(value) ? "NaN"
                  : value > 0       ? "+inf"
                                    : "-inf") +
                 " at index " + std::to_string(k) +
                 ", computed from finite constants; a chip computes nothing "
                 "meaningful from non-finite parameters: fix the model";
  for (size_t i = 0;
       i < results.size() && i < static_cast<size_t>(node.output_size()); ++i)
    outputs.push_back(encode(results[i], node.output(i)));
  return std::nullopt;
}

std::optional<std::vector<int64_t>>
getIntegerValues(const onnx::TensorProto &tensor) {
  if (!isIntegerType(tensor.data_type()))
    return std::nullopt;
  std::optional<Value> value = decode(tensor);
  if (!value)
    return std::nullopt;
  return value->ints;
}

std::optional<std::vector<double>>
getRealValues(const onnx::TensorProto &tensor) {
  if (!isRealType(tensor.data_type()))
    return std::nullopt;
  std::optional<Value> value = decode(tensor);
  if (!value)
    return std::nullopt;
  return value->reals;
}

} // namespace hafnia
