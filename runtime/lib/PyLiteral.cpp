// A recursive-descent parser of the Python literals of .npy headers.

#include "PyLiteral.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "TensorBytes.h"
#include "absl/strings/str_cat.h"

namespace hafnia {
namespace tensor_io {

const char *KindName(PyValue::Kind kind) {
  switch (kind) {
  case PyValue::kString:
    return "a string";
  case PyValue::kInt:
    return "an integer";
  case PyValue::kBool:
    return "a boolean";
  case PyValue::kNone:
    return "None";
  case PyValue::kTuple:
    return "a tuple";
  case PyValue::kList:
    return "a list";
  case PyValue::kDict:
    return "a dict";
  }
  return "a value";
}

namespace {

// Recursive descent over strings, integers, True/False/None, tuples, lists
// and dicts with string keys: what numpy.save writes, plus the 'L' suffix of
// integers in files from Python 2. Errors give the offset in the header.
class PyLiteralParser {
public:
  explicit PyLiteralParser(absl::string_view text) : text_(text) {}

  // One value and nothing after it but whitespace.
  absl::StatusOr<PyValue> ParseAll() {
    absl::StatusOr<PyValue> value = ParseValue(/*depth=*/0);
    if (!value.ok())
      return value;
    SkipSpace();
    if (pos_ != text_.size())
      return Error("unexpected text after the dict");
    return value;
  }

private:
  // Deep enough for any header; bounds recursion on hostile input.
  static constexpr int kMaxDepth = 16;

  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " at offset ", pos_, " of the header"));
  }

  void SkipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                   text_[pos_] == '\n' || text_[pos_] == '\r'))
      ++pos_;
  }

  bool Consume(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  absl::StatusOr<PyValue> ParseValue(int depth) {
    if (depth > kMaxDepth)
      return Error("nesting too deep");
    SkipSpace();
    if (pos_ == text_.size())
      return Error("unexpected end of the header");
    const char c = text_[pos_];
    if (c == '\'' || c == '"')
      return ParseString();
    if (c == '-' || c == '+' || (c >= '0' && c <= '9'))
      return ParseInt();
    if (c == '(' || c == '[')
      return ParseSequence(depth);
    if (c == '{')
      return ParseDict(depth);
    return ParseWord();
  }

  absl::StatusOr<PyValue> ParseString() {
    const char quote = text_[pos_++];
    PyValue value;
    value.kind = PyValue::kString;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      char c = text_[pos_++];
      if (c == '\\' && pos_ < text_.size()) {
        c = text_[pos_++];
        if (c == 'n')
          c = '\n';
        else if (c == 't')
          c = '\t';
      }
      value.text.push_back(c);
    }
    if (pos_ == text_.size())
      return Error("unterminated string");
    ++pos_;
    return value;
  }

  absl::StatusOr<PyValue> ParseInt() {
    bool negative = false;
    if (text_[pos_] == '-' || text_[pos_] == '+')
      negative = text_[pos_++] == '-';
    if (pos_ == text_.size() || text_[pos_] < '0' || text_[pos_] > '9')
      return Error("expected digits");
    // Accumulate the magnitude as a negative number so INT64_MIN fits.
    int64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const int digit = text_[pos_++] - '0';
      if (value < (std::numeric_limits<int64_t>::min() + digit) / 10)
        return Error("integer too large");
      value = value * 10 - digit;
    }
    if (pos_ < text_.size() && (text_[pos_] == 'L' || text_[pos_] == 'l'))
      ++pos_;
    if (!negative && value == std::numeric_limits<int64_t>::min())
      return Error("integer too large");
    PyValue result;
    result.kind = PyValue::kInt;
    result.integer = negative ? value : -value;
    return result;
  }

  // "(...)" is a tuple when it is empty or has a comma, like in Python;
  // otherwise it is just the value inside. "[...]" is a list.
  absl::StatusOr<PyValue> ParseSequence(int depth) {
    const char open = text_[pos_++];
    const char close = open == '(' ? ')' : ']';
    PyValue sequence;
    sequence.kind = open == '(' ? PyValue::kTuple : PyValue::kList;
    bool saw_comma = false;
    while (!Consume(close)) {
      absl::StatusOr<PyValue> item = ParseValue(depth + 1);
      if (!item.ok())
        return item;
      sequence.items.push_back(*std::move(item));
      if (Consume(','))
        saw_comma = true;
      else if (!Consume(close))
        return Error(
            absl::StrCat("expected ',' or '", std::string(1, close), "'"));
      else
        break;
    }
    if (open == '(' && sequence.items.size() == 1 && !saw_comma)
      return std::move(sequence.items[0]);
    return sequence;
  }

  absl::StatusOr<PyValue> ParseDict(int depth) {
    ++pos_;
    PyValue dict;
    dict.kind = PyValue::kDict;
    while (!Consume('}')) {
      SkipSpace();
      if (pos_ == text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"'))
        return Error("expected a quoted key");
      absl::StatusOr<PyValue> key = ParseString();
      if (!key.ok())
        return key;
      if (!Consume(':'))
        return Error("expected ':' after a key");
      absl::StatusOr<PyValue> value = ParseValue(depth + 1);
      if (!value.ok())
        return value;
      dict.keys.push_back(std::move(key->text));
      dict.items.push_back(*std::move(value));
      if (!Consume(',')) {
        if (!Consume('}'))
          return Error("expected ',' or '}'");
        break;
      }
    }
    return dict;
  }

  absl::StatusOr<PyValue> ParseWord() {
    const size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) ||
            text_[pos_] == '_'))
      ++pos_;
    const absl::string_view word = text_.substr(start, pos_ - start);
    PyValue value;
    if (word == "True" || word == "False") {
      value.kind = PyValue::kBool;
      value.boolean = word == "True";
    } else if (word == "None") {
      value.kind = PyValue::kNone;
    } else {
      pos_ = start;
      return Error(absl::StrCat(
          "unexpected '",
          Printable(text_.substr(start, std::max<size_t>(1, word.size()))),
          "'"));
    }
    return value;
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

} // namespace

absl::StatusOr<PyValue> ParsePyLiteral(absl::string_view text) {
  return PyLiteralParser(text).ParseAll();
}

} // namespace tensor_io
} // namespace hafnia
